# `nix develop`: every tool of the Makefile, the tests and the stack, with both services editable.
{ pkgs, devTools, ... }:
pkgs.mkShell {
  packages = devTools;

  shellHook = ''
    # The checkout this shell works on: the nearest directory upwards that holds flake.nix.
    USERS_STACK_ROOT=$PWD
    while [ ! -f "$USERS_STACK_ROOT/flake.nix" ] && [ "$USERS_STACK_ROOT" != / ]; do
      USERS_STACK_ROOT=$(dirname "$USERS_STACK_ROOT")
    done
    export USERS_STACK_ROOT
    # The Makefile takes its tools from PATH instead of .venv and ./bin: no `make bootstrap`.
    export USERS_STACK_NO_VENV=1
    export PATH="$USERS_STACK_ROOT/scripts:$PATH"
    cat <<'EOF'
    Users development shell: every tool comes from nixpkgs, nothing to install.
      nix run      start MySQL, backend and frontend, then open http://localhost:8000
      make test    lint and every test suite (starts its own throwaway servers)
      make up      the stack in development mode, reloading on code changes
    EOF
  '';
}
