# `nix flake check`: both packages with their unit tests, lint, formatting and (Linux) `make test`.
{
  pkgs,
  devTools,
  backend,
  frontend,
  stack,
  ...
}:
let
  inherit (pkgs) lib;

  # Runs a Makefile target on a writable copy of the repository with the dev shell's tools.
  makeTarget =
    target:
    pkgs.runCommand "users-make-${target}"
      {
        nativeBuildInputs = devTools;
        # The suites serve on free loopback ports; nothing leaves the build sandbox.
        __darwinAllowLocalNetworking = true;
      }
      ''
        cp -r ${../.} source
        chmod -R u+w source
        cd source
        export HOME=$TMPDIR USERS_STACK_ROOT=$PWD USERS_STACK_NO_VENV=1
        export PATH="$PWD/scripts:$PATH"
        make ${target}
        mkdir -p "$out"
        # Keep what the tests saved (the browser test's screenshot) as the check's output.
        if [ -d test-artifacts ]; then cp -r test-artifacts "$out/"; fi
      '';
in
{
  inherit backend frontend stack;

  lint = makeTarget "lint";

  nixfmt = pkgs.runCommand "users-nixfmt" { nativeBuildInputs = [ pkgs.nixfmt ]; } ''
    nixfmt --check ${../flake.nix} ${./.}/*.nix
    touch "$out"
  '';
}
// lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
  # The project's test command: lint, backend and frontend suites against a throwaway MySQL 8.4,
  # the headless Chromium test and the end-to-end run of process-compose.yaml.
  test = makeTarget "test";
}
