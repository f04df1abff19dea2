# `nix run`: MySQL 8.4, backend and frontend under process-compose, via the checkout's stack-up.
{
  pkgs,
  backend,
  frontend,
  dotenvPython,
  traceViewer,
}:
pkgs.writeShellApplication {
  name = "users-stack";
  # What scripts/stack-up, process-compose.yaml and the scripts it runs find on PATH (the
  # scripts themselves are run by path from the checkout).
  runtimeInputs = [
    backend
    frontend
    # python3 with python-dotenv, for a .env in the checkout (scripts/lib/dotenv-exec).
    dotenvPython
    pkgs.mysql84
    pkgs.process-compose
    # OBSERVABILITY=1: victoria-metrics and vmalert, mysqld_exporter, the trace collector
    # (otelcol-contrib) and the trace viewer (zipkin-server, nix/trace-viewer.nix).
    pkgs.victoriametrics
    pkgs.prometheus-mysqld-exporter
    pkgs.opentelemetry-collector-contrib
    traceViewer
    pkgs.bash
    pkgs.coreutils
    pkgs.gnugrep
    # mysql-run uses ps to tell a live server from a stale pid file.
    pkgs.unixtools.ps
  ]
  # scripts/supervised: setpriv --pdeathsig stops the services if process-compose is killed.
  ++ pkgs.lib.optionals pkgs.stdenv.hostPlatform.isLinux [ pkgs.util-linux ];
  text = ''
    # Data stays in the checkout's .data/, as without Nix, so start from the enclosing checkout.
    root=$PWD
    until [ -x "$root/scripts/stack-up" ] && [ -f "$root/process-compose.yaml" ]; do
      if [ "$root" = / ]; then
        echo "users-stack: start it from a checkout of the project (no scripts/stack-up above $PWD)" >&2
        exit 1
      fi
      root=$(dirname "$root")
    done
    cd "$root"
    # Tools come from this app's PATH, never from a .venv left in the checkout.
    export USERS_STACK_NO_VENV=1
    exec ./scripts/stack-up "$@"
  '';
  meta = {
    description = "Start MySQL 8.4, the users backend and frontend with process-compose";
    mainProgram = "users-stack";
  };
}
