#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The article's Pool.map palindromes program, as written there (reference
for tools/bench/report.sh, not part of flow).

    palindromes.py [WORDS [LISTS [LENGTH]]]

The article makes 8,000 four-letter words as two lists of 4,000
(`input_list = [make_words(4000, 4) for x in range(2)]`), finds the
palindromes of each list in a `Pool()` with `pool.map(find_palindromes,
input_list)` and prints the result. The only change is that the sizes come
from the command line: WORDS (default 8000) words of LENGTH (default 4)
letters in LISTS (default 2) lists. As in the article, the words are made in
the main process, the pool has one worker per CPU (`Pool()`), and every list
is pickled to a worker and its palindromes pickled back.
"""
import random
import sys
from functools import partial
from multiprocessing import Pool


def generate_words(word_count, word_length):
    a = ord('a')
    for i in range(word_count):
        word = ''
        for j in range(word_length):
            word += chr(a + random.randint(0, 25))
        yield word


def listify(f, *args, **kwdargs):
    return list(f(*args, **kwdargs))


make_words = partial(listify, generate_words)


def find_palindromes(words):
    results = []
    for w in words:
        half = len(w) // 2  # Note the explicit floor division
        if w[:half] == w[-half:][::-1]:
            results += [w]
    return results


def main():
    word_count = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    lists = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    length = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    # The article: [make_words(4000, 4) for x in range(2)]; here the last
    # list takes the remainder when WORDS is not a multiple of LISTS.
    sizes = [word_count // lists] * lists
    sizes[-1] += word_count - sum(sizes)
    input_list = [make_words(n, length) for n in sizes]

    pool = Pool()
    results = pool.map(find_palindromes, input_list)
    print(results)


if __name__ == '__main__':
    main()
