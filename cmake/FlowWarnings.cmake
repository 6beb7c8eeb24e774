# Warnings for all of flow's own code (the C-only ones for C: a C++ test
# fixture is built with the rest).
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wvla -Wformat=2
                    $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes>
                    $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes>)
if(FLOW_WERROR)
  add_compile_options(-Werror)
endif()
