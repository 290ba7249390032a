#!/usr/bin/env bash
# A one-node Slurm cluster with fake GPUs, for testing the workflow's Slurm profile.
#
#   scripts/cluster/local_slurm.sh start    install slurm-wlm + munge if missing, start, wait idle
#   scripts/cluster/local_slurm.sh stop     cancel its jobs, end its daemons by their recorded PIDs
#   scripts/cluster/local_slurm.sh status   exit 0 when it is up
#   scripts/cluster/local_slurm.sh env      print the exports that point Slurm's commands at it:
#                                           eval "$(scripts/cluster/local_slurm.sh env)"
#
# Settings (environment): UNLEARNING_SLURM_DIR (state, default /tmp/unlearning-slurm),
# UNLEARNING_SLURM_GPUS (2), UNLEARNING_SLURM_GPU_TYPE (fake), UNLEARNING_SLURM_CPUS (nproc),
# UNLEARNING_SLURM_MEM_MB (64000, or the machine's if more), UNLEARNING_SLURM_PORT (6817;
# slurmd uses PORT+1).
# Start and stop are idempotent; start after a crash clears the stale state. No systemd, no
# cgroups, no accounting database: the daemons run as plain processes of root.
# Exit status 3: Slurm cannot run here (not installable, or not root).
set -euo pipefail

STATE=${UNLEARNING_SLURM_DIR:-/tmp/unlearning-slurm}
GPUS=${UNLEARNING_SLURM_GPUS:-2}
GPU_TYPE=${UNLEARNING_SLURM_GPU_TYPE:-fake}
CPUS=${UNLEARNING_SLURM_CPUS:-$(nproc)}
# at least 64 GB, so that every memory request of profiles/slurm fits (Slurm does not enforce it)
MEM_MB=${UNLEARNING_SLURM_MEM_MB:-$(awk '/MemTotal/ {m = int($2 / 1024)} END {print (m > 64000 ? m : 64000)}' \
    /proc/meminfo)}
PORT=${UNLEARNING_SLURM_PORT:-6817}
NODE=node1
HOST=$(hostname -s)
CONF="$STATE/slurm.conf"
RUN="$STATE/run"
export SLURM_CONF="$CONF"
PATH=$PATH:/usr/sbin:/sbin # the daemons, for a user whose PATH lacks them

say() { echo "local_slurm: $*" >&2; }

# PID recorded in $RUN/<daemon>.pid when that process is still the daemon (not a reused PID).
live_pid() {
    local file="$RUN/$1.pid" pid
    [[ -s $file ]] || return 1
    pid=$(tr -dc 0-9 <"$file")
    [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$1" ]] || return 1
    echo "$pid"
}

node_state() { timeout 10 sinfo -h -n "$NODE" -o %T 2>/dev/null || true; }

is_up() {
    live_pid munged >/dev/null && live_pid slurmctld >/dev/null && live_pid slurmd >/dev/null &&
        [[ $(node_state) =~ ^(idle|mixed|allocated|completing) ]]
}

missing_binaries() {
    local bin
    for bin in munged slurmctld slurmd sbatch srun squeue sinfo scontrol scancel; do
        command -v "$bin" >/dev/null || return 0
    done
    return 1
}

install() {
    missing_binaries || return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        say "slurm-wlm/munge are missing and cannot be installed here (needs root and apt-get)"
        exit 3
    fi
    say "installing slurm-wlm and munge"
    local log="${TMPDIR:-/tmp}/local_slurm_apt.log"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends slurm-wlm munge; } >"$log" 2>&1 || missing_binaries; then
        say "apt-get could not install slurm-wlm and munge (see $log)"
        exit 3
    fi
}

write_config() {
    mkdir -p "$STATE"/{munge,ctld,spool,log,dev} "$RUN"
    chmod 700 "$STATE" "$STATE/munge"
    local i last=$((GPUS - 1))
    # Slurm schedules a GPU only when gres.conf names a device file; a null-device node
    # (major 1, minor 3) is enough, and Slurm then sets CUDA_VISIBLE_DEVICES for the job.
    for ((i = 0; i < GPUS; i++)); do
        [[ -c $STATE/dev/gpu$i ]] && continue
        rm -f "$STATE/dev/gpu$i"
        mknod "$STATE/dev/gpu$i" c 1 3 || { say "cannot make fake GPU devices (mknod)"; exit 3; }
    done
    if [[ ! -s $STATE/munge/munge.key ]]; then
        dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$STATE/munge/munge.key"
    fi
    # One line per task in the job's Slurm log: the GPUs it was given.
    cat >"$STATE/task_prolog.sh" <<'EOF'
#!/bin/sh
echo "print local_slurm task: job=$SLURM_JOB_ID step=${SLURM_STEP_ID:-batch} CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
EOF
    chmod 755 "$STATE/task_prolog.sh"
    # The executor plugin's job step drops SLURM_CONF before it calls srun, so srun inside a job
    # would look for /etc/slurm/slurm.conf; this srun, first on PATH, points it here instead.
    mkdir -p "$STATE/bin"
    printf '#!/bin/sh\nSLURM_CONF=%q exec %q "$@"\n' "$CONF" "$(command -v srun)" >"$STATE/bin/srun"
    chmod 755 "$STATE/bin/srun"
    cat >"$STATE/gres.conf" <<EOF
AutoDetect=off
NodeName=$NODE Name=gpu Type=$GPU_TYPE File=$STATE/dev/gpu[0-$last]
EOF
    # MinJobAge: finished jobs stay visible to squeue (the profile's status command) and
    # scontrol for an hour, far over 3x the plugin's status-check delay. config_overrides lets
    # the node declare more CPUs or memory than the machine has, so a profile's requests fit.
    cat >"$CONF" <<EOF
ClusterName=unlearning
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$STATE/task_prolog.sh
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$NODE NodeHostname=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPU_TYPE:$GPUS State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_for() { # seconds, command...
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 4; i++)); do
        "$@" && return 0
        sleep 0.25
    done
    return 1
}

fail_start() {
    say "$1"
    tail -n 5 "$STATE"/log/*.log >&2 || true
    stop
    exit 1
}

start() {
    install
    if [[ $(id -u) != 0 ]]; then
        say "slurmd must run as root to start jobs; run this as root"
        exit 3
    fi
    if is_up; then
        say "already up ($CONF)"
        return 0
    fi
    stop # whatever a crash left running or recorded
    write_config
    rm -f "$STATE/munge/munge.socket"*
    # --force: run although the state dir lies under a world-writable /tmp
    munged --key-file="$STATE/munge/munge.key" --socket="$STATE/munge/munge.socket" \
        --pid-file="$RUN/munged.pid" --log-file="$STATE/log/munged.log" \
        --seed-file="$STATE/munge/munged.seed" --force
    wait_for 10 live_pid munged >/dev/null || fail_start "munged did not start"
    # -c: start from a clean state, forgetting the jobs of an earlier (crashed) cluster
    slurmctld -c -f "$CONF"
    wait_for 20 live_pid slurmctld >/dev/null || fail_start "slurmctld did not start"
    slurmd -c -f "$CONF" -N "$NODE"
    wait_for 20 live_pid slurmd >/dev/null || fail_start "slurmd did not start"
    wait_for 60 is_up || fail_start "node $NODE is not idle: $(sinfo -h -R 2>&1 || true)"
    say "up: $NODE with $CPUS CPUs, ${MEM_MB} MB, $GPUS x gpu:$GPU_TYPE; run: eval \"\$($0 env)\""
}

end_pid() { # daemon
    local pid
    pid=$(live_pid "$1") || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_for 10 bash -c "[[ ! -e /proc/$pid ]]" || kill -KILL "$pid" 2>/dev/null || true
}

stop() {
    if live_pid slurmctld >/dev/null && [[ -s $CONF ]]; then
        local jobs
        jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs 2>/dev/null || true
            # shellcheck disable=SC2016 # expanded by the inner bash, on each try
            wait_for 15 bash -c '[[ -z $(squeue -h -o %i 2>/dev/null) ]]' || true
        fi
    fi
    end_pid slurmd
    end_pid slurmctld
    end_pid munged
    rm -f "$RUN"/*.pid
}

case ${1:-} in
start) start ;;
stop)
    stop
    say "stopped"
    ;;
status)
    if is_up; then
        say "up ($CONF)"
    else
        say "down"
        exit 1
    fi
    ;;
env)
    # shellcheck disable=SC2016 # $PATH is for the caller's shell to expand
    printf 'export SLURM_CONF=%q PATH=%q:"$PATH"\n' "$CONF" "$STATE/bin"
    ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
