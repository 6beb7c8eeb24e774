#!/bin/bash
# tools/netns-hosts.sh up|down|status: two test "hosts" on this machine,
# the network namespaces flowA and flowB, joined by a veth pair:
#
#   flowA: veth flowA0, 10.231.0.1/24 and fd31:231::1/64, lo up
#   flowB: veth flowB0, 10.231.0.2/24 and fd31:231::2/64, lo up
#
# The IPv6 addresses are there only where the kernel has IPv6 (`status`
# shows them); IPv4 is enough for `up` to succeed.
# No route leaves the pair: the namespaces reach each other and nothing
# else. Run a process on a "host" with `ip netns exec flowA COMMAND`.
# `up` checks the link with one ping each way. Both commands are
# idempotent. Needs root and iproute2 (and ping, from iputils-ping, for the
# check; without it the check uses bash's /dev/tcp against a listener).
#
# Exit status: 0 ok, 1 failure, 2 usage, 3 this machine cannot make network
# namespaces (not root, no `ip netns`): tests SKIP on 3.
set -u

NS_A=flowA NS_B=flowB
DEV_A=flowA0 DEV_B=flowB0
ADDR_A=10.231.0.1 ADDR_B=10.231.0.2
PREFIX=24
ADDR6_A=fd31:231::1 ADDR6_B=fd31:231::2
PREFIX6=64

log() { echo "netns-hosts: $*" >&2; }

can_run() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root"
        exit 3
    fi
    if ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
        log "ip netns is not available (install iproute2)"
        exit 3
    fi
}

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

has_addr() { ip -n "$1" -4 addr show dev "$2" 2>/dev/null | grep -q "inet $3/$PREFIX"; }
has_addr6() { ip -n "$1" -6 addr show dev "$2" 2>/dev/null | grep -q "inet6 $3/$PREFIX6"; }

ping_check() {
    local from=$1 to=$2
    if command -v ping >/dev/null; then
        ip netns exec "$from" ping -c1 -W2 "$to" >/dev/null
    else
        # No ping: a TCP connection refused (or accepted) proves the path;
        # a timeout does not.
        ip netns exec "$from" timeout 3 bash -c "exec 3<>/dev/tcp/$to/9 " 2>&1 |
            grep -q -v -i "timed out\|unreachable"
    fi
}

cmd_up() {
    can_run
    local ns
    for ns in $NS_A $NS_B; do
        if ! ns_exists $ns; then
            ip netns add $ns || {
                log "cannot create namespace $ns"
                exit 3
            }
        fi
        ip -n $ns link set lo up
    done
    # The pair: created in flowA, one end moved to flowB. If one end exists
    # without the other (a half-done run), start over.
    if ! ip -n $NS_A link show $DEV_A >/dev/null 2>&1 ||
        ! ip -n $NS_B link show $DEV_B >/dev/null 2>&1; then
        ip -n $NS_A link del $DEV_A 2>/dev/null
        ip -n $NS_B link del $DEV_B 2>/dev/null
        ip link del $DEV_A 2>/dev/null
        ip link del $DEV_B 2>/dev/null
        ip -n $NS_A link add $DEV_A type veth peer name $DEV_B netns $NS_B || {
            log "cannot create the veth pair"
            exit 1
        }
    fi
    has_addr $NS_A $DEV_A $ADDR_A || ip -n $NS_A addr add $ADDR_A/$PREFIX dev $DEV_A
    has_addr $NS_B $DEV_B $ADDR_B || ip -n $NS_B addr add $ADDR_B/$PREFIX dev $DEV_B
    # IPv6 where the kernel has it; nodad: usable at once, no duplicate
    # address detection to wait for on a link of two.
    has_addr6 $NS_A $DEV_A $ADDR6_A ||
        ip -n $NS_A -6 addr add $ADDR6_A/$PREFIX6 dev $DEV_A nodad 2>/dev/null ||
        log "no IPv6 in $NS_A (IPv4 only)"
    has_addr6 $NS_B $DEV_B $ADDR6_B ||
        ip -n $NS_B -6 addr add $ADDR6_B/$PREFIX6 dev $DEV_B nodad 2>/dev/null ||
        log "no IPv6 in $NS_B (IPv4 only)"
    ip -n $NS_A link set $DEV_A up
    ip -n $NS_B link set $DEV_B up
    # The link comes up asynchronously: retry the check for a few seconds.
    local ok=0
    for _ in $(seq 30); do
        if ping_check $NS_A $ADDR_B && ping_check $NS_B $ADDR_A; then
            ok=1
            break
        fi
        sleep 0.2
    done
    if [ $ok = 0 ]; then
        log "no connectivity between $NS_A ($ADDR_A) and $NS_B ($ADDR_B)"
        exit 1
    fi
    echo "$NS_A $ADDR_A <-> $NS_B $ADDR_B: up"
}

cmd_down() {
    [ "$(id -u)" = 0 ] || {
        log "must run as root"
        exit 3
    }
    local ns
    for ns in $NS_A $NS_B; do
        # Deleting a namespace deletes its end of the pair, and the other end
        # with it.
        ns_exists $ns && ip netns del $ns
    done
    return 0
}

cmd_status() {
    local ns rc=0
    for ns in $NS_A $NS_B; do
        if ns_exists $ns; then
            echo "$ns:"
            ip -n $ns -br addr
        else
            echo "$ns: absent"
            rc=1
        fi
    done
    return $rc
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
