# `nix flake check`: both packages with their unit tests, lint and (Linux) `make test`.
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
      (
        {
          nativeBuildInputs = devTools;
          # The suites serve on free loopback ports; nothing leaves the build sandbox.
          __darwinAllowLocalNetworking = true;
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          # Chromium (the browser test) finds its fonts through fontconfig; the sandbox has no
          # /etc/fonts. The configuration names DejaVu.
          FONTCONFIG_FILE = pkgs.makeFontsConf { fontDirectories = [ pkgs.dejavu_fonts ]; };
        }
      )
      ''
        cp -r ${../.} source
        chmod -R u+w source
        cd source
        # The sandbox has no /usr/bin/env: `#!/usr/bin/env bash` (and python3) become the
        # interpreters on PATH, as they are outside it.
        patchShebangs --build scripts bench .ci
        export HOME=$TMPDIR USERS_STACK_ROOT=$PWD USERS_STACK_NO_VENV=1
        # Builders often refuse Linux native AIO (io_setup): InnoDB then uses its own threads.
        export MYSQL_NATIVE_AIO=0
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
}
// lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
  # The project's test command: lint, the testkit, backend and frontend suites against a
  # throwaway MySQL 8.4, the headless Chromium test and the end-to-end run of process-compose.yaml.
  test = makeTarget "test";
}
