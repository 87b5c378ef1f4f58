#!/usr/bin/env bash
# A one-node SLURM on localhost for the project's cluster test (Debian, root, no cgroups).
#
#   bash tests/slurm/local_slurm.sh start   # installs (apt) and starts munged, slurmctld, slurmd;
#                                           # prints the partition name last on stdout
#   bash tests/slurm/local_slurm.sh stop    # cancels jobs, stops exactly the PIDs it recorded
#
# No slurmdbd: `sacct` cannot work, so the executor plugin must poll with
# `--slurm-status-command squeue`, and MinJobAge keeps finished jobs visible to squeue.
# State, logs and PID files live in $DLGEOM_SLURM_DIR (default /var/lib/dlgeom-slurm).
# Exit status 3 from `start` means the packages cannot be installed on this machine.
set -euo pipefail

DIR=${DLGEOM_SLURM_DIR:-/var/lib/dlgeom-slurm}
PARTITION=debug
CONF=/etc/slurm/slurm.conf
MARKER="# written by dlgeom tests/slurm/local_slurm.sh"
PIDS=$DIR/pids
LOGS=$DIR/log
export PATH=$PATH:/usr/sbin:/sbin

say() { echo "[local_slurm] $*" >&2; }
die() { say "ERROR: $*"; exit "${2:-1}"; }

# alive NAME: the PID recorded for NAME is a live, non-zombie process called NAME
alive() {
    local f=$PIDS/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# launch NAME CMD...: run a daemon in its foreground mode, detached, recording its own PID
launch() {
    local name=$1; shift
    rm -f "$PIDS/$name.pid"
    # shellcheck disable=SC2016
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDS/$name.pid" "$@" </dev/null >>"$LOGS/$name.out" 2>&1 &
    for _ in $(seq 50); do [ -s "$PIDS/$name.pid" ] && return 0; sleep 0.1; done
    die "could not start $name"
}

# until_ok SECONDS WHAT CMD...: poll CMD until it succeeds
until_ok() {
    local secs=$1 what=$2 i; shift 2
    for ((i = 0; i < secs * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "$what not ready after ${secs}s (logs in $LOGS)"
}

install_packages() {
    local need=0 b
    for b in slurmctld slurmd sbatch squeue munged munge; do command -v "$b" >/dev/null || need=1; done
    [ "$need" = 0 ] && return 0
    command -v apt-get >/dev/null || die "no apt-get: cannot install SLURM here" 3
    say "installing slurmctld slurmd slurm-client munge (apt)"
    local policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then      # keep maintainer scripts from starting daemons
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local pkgs="slurmctld slurmd slurm-client munge" ok=1
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $pkgs >&2 \
        || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends $pkgs >&2; } || ok=0
    [ "$policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$ok" = 1 ] || die "apt-get could not install $pkgs" 3
}

start() {
    [ "$(id -u)" = 0 ] || die "must run as root" 3
    install_packages
    mkdir -p "$PIDS" "$LOGS" "$DIR/ctld" "$DIR/d"
    if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this harness; refusing to touch it" 3
    fi
    # munge
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
    install -d -o munge -g munge -m 0711 /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
        else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
    fi
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    munge_ok() { munge -n </dev/null | unmunge >/dev/null; }
    if ! alive munged && ! munge_ok 2>/dev/null; then
        rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
        launch munged setpriv --reuid=munge --regid=munge --init-groups -- munged --foreground
    fi
    until_ok 10 munged munge_ok
    # slurm.conf: this machine's CPUs, 90 % of its memory, no cgroups, no accounting
    local hw cpus mem
    hw=$(slurmd -C | head -1)
    cpus=$(echo "$hw" | tr ' ' '\n' | sed -n 's/^CPUs=//p')
    mem=$(( $(echo "$hw" | tr ' ' '\n' | sed -n 's/^RealMemory=//p') * 9 / 10 ))
    mkdir -p /etc/slurm
    cat > "$CONF.tmp" <<CONF
$MARKER
ClusterName=dlgeomtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.daemon.pid
SlurmdPidFile=$DIR/slurmd.daemon.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
KillWait=5
InactiveLimit=0
DefMemPerCPU=512
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    mv "$CONF.tmp" "$CONF"
    alive slurmctld || launch slurmctld slurmctld -D -c
    until_ok 30 slurmctld bash -c 'scontrol ping | grep -q "is UP"'
    alive slurmd || launch slurmd slurmd -D -N localhost
    node_up() {
        case "$(sinfo -h -N -n localhost -o %T 2>/dev/null)" in
            idle*|mixed*|allocated*|completing*) return 0 ;;
            down*|drain*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 ;;
        esac
        return 1
    }
    until_ok 30 "node localhost" node_up
    say "up: localhost, $cpus CPUs, $mem MB, partition $PARTITION"
    echo "$PARTITION"
}

stop() {
    [ -d "$PIDS" ] || { say "nothing to stop"; return 0; }
    if alive slurmctld; then scancel --full --quiet --user=root >/dev/null 2>&1 || true; sleep 1; fi
    local name pid
    for name in slurmd slurmctld munged; do
        alive "$name" || { rm -f "$PIDS/$name.pid"; continue; }
        pid=$(cat "$PIDS/$name.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do alive "$name" || break; sleep 0.1; done
        alive "$name" && kill -KILL "$pid" 2>/dev/null || true
        rm -f "$PIDS/$name.pid"
        say "stopped $name (pid $pid)"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
