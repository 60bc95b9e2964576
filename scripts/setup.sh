# Shared by scripts/run and scripts/test (sourced, not run): system packages and the virtualenv.

# Qt's xcb platform plugin needs these at run time; desktops usually have most, not all.
runtime_packages=(libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0
                  libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
                  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1)

# Installs the Debian packages given that are missing (as root), or says what to install.
ensure_packages() {
    command -v dpkg-query >/dev/null || return 0  # not Debian: the README lists what is needed
    local wanted=("$@") missing=() p
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wanted+=(python3-venv)
    fi
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    if [ "$(id -u)" != 0 ]; then
        echo "$0: missing system packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "$0: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Creates the virtualenv and installs the app (with the given extras) when pyproject.toml
# changed. A venv installed with the test extras (a superset of the others) serves them all.
ensure_venv() {
    local spec=$1 stamp="$venv/.installed" hash have=""
    hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    [ -f "$stamp" ] && have=$(cat "$stamp")
    if [ "$have" != "$spec $hash" ] && [ "$have" != ".[test] $hash" ]; then
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q -e "$spec"
        echo "$spec $hash" > "$stamp"
    fi
}

# The real OpenID Connect provider the interactive sign-in tests run against (tests/oidc/):
# `npm ci` from its lock file when node_modules is missing or the lock changed.
ensure_oidc_server() {
    local dir=tests/oidc stamp=tests/oidc/node_modules/.token-vault-lock hash
    command -v npm >/dev/null || ensure_packages nodejs npm
    hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && return 0
    echo "$0: installing the OpenID Connect test server (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$hash" > "$stamp"
}

python=${PYTHON:-python3}
venv=${TOKEN_VAULT_VENV:-$PWD/.venv}
