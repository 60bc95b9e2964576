# Sourced inside `dbus-run-session --config-file=scripts/dbus-session.conf` by scripts/test-session
# and bench/run: a private, unlocked gnome-keyring and an Xvfb display. Call start_session
# first; it sets XDG_* to a fresh scratch folder and DISPLAY, and stop_session on exit.
session_pids=()

# gnome-keyring-daemon aborts when a client vanishes mid-OpenSession (an upstream bug: the
# "gkd_secret_service_get_pkcs11_session: assertion 'client' failed" crash); killing clients is
# part of what we test. The watchdog restarts it on the same files with the same password, so
# the keyring comes back unlocked, and counts every death in $scratch/keyring.deaths.
_keyring_watchdog() {
    while [ ! -e "$scratch/stop" ]; do
        printf 'token-vault-test-session' | gnome-keyring-daemon --foreground --unlock \
            --components=secrets >>"$scratch/keyring.log" 2>&1 &
        echo $! >"$scratch/keyring.pid"
        status=0
        wait $! || status=$?
        [ -e "$scratch/stop" ] && break
        echo "gnome-keyring-daemon exited with status $status at $(date +%T); restarted" \
            | tee -a "$scratch/keyring.log" >>"$scratch/keyring.deaths"
        sleep 0.2
    done
}

_wait_for_keyring() {
    for _ in $(seq 150); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
            | grep -q true; then
            return 0
        fi
        sleep 0.1
    done
    echo "gnome-keyring-daemon did not come up; its log:" >&2
    cat "$scratch/keyring.log" >&2
    return 1
}

start_session() {
    scratch=$(mktemp -d -t token-vault-session.XXXXXX)
    chmod 700 "$scratch"
    export XDG_DATA_HOME=$scratch/data XDG_CONFIG_HOME=$scratch/config
    export XDG_CACHE_HOME=$scratch/cache XDG_RUNTIME_DIR=$scratch/runtime
    mkdir -p -m 700 "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
    : >"$scratch/keyring.log"
    _keyring_watchdog &
    session_pids+=($!)
    _wait_for_keyring

    exec 3>"$scratch/display"
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp >"$scratch/xvfb.log" 2>&1 &
    session_pids+=($!)
    exec 3>&-
    for _ in $(seq 100); do [ -s "$scratch/display" ] && break; sleep 0.1; done
    export DISPLAY=":$(head -n1 "$scratch/display")"
    unset WAYLAND_DISPLAY SESSION_MANAGER
}

# Prints what a reader of a failed run needs: keyring deaths always, the log tail on failure.
report_session() {
    local status=$1
    if [ -s "$scratch/keyring.deaths" ]; then
        echo "== gnome-keyring-daemon died during the run (restarted each time):"
        cat "$scratch/keyring.deaths"
    fi
    if [ "$status" != 0 ] && [ -s "$scratch/keyring.log" ]; then
        echo "== gnome-keyring-daemon log (last lines)"
        tail -n 30 "$scratch/keyring.log"
    fi
}

stop_session() {
    touch "$scratch/stop"
    [ -s "$scratch/keyring.pid" ] && kill "$(cat "$scratch/keyring.pid")" 2>/dev/null
    for pid in "${session_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$scratch"
}
