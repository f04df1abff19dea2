# shellcheck shell=bash
# Environment shared by the stack scripts: the project's .env, tool paths and every default.
# Values already in the environment are kept, except that .env wins (as process-compose does).

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Without Nix, `make bootstrap` puts the services in .venv and process-compose in bin/.
# In `nix develop` and `nix run` the tools are already on PATH (USERS_STACK_NO_VENV=1).
if [ -z "${USERS_STACK_NO_VENV:-}" ]; then
  PATH="$STACK_ROOT/.venv/bin:$STACK_ROOT/bin:$PATH"
fi
# Debian keeps mysqld in /usr/sbin, which is not on a normal user's PATH; appended, so tools that
# Nix puts on PATH still win.
PATH="$PATH:/usr/sbin:/usr/local/sbin"
export PATH

# The project's .env (STACK_ENV_FILE), read once by dotenv-exec with dotenv rules, never as
# bash: the script starts again with its values, and PC_DISABLE_DOTENV=1 tells the second run
# and process-compose not to read it again. The end-to-end tests set it to stay on their ports.
: "${STACK_ENV_FILE:=$STACK_ROOT/.env}"
if [ -z "${PC_DISABLE_DOTENV:-}" ] && [ -f "$STACK_ENV_FILE" ]; then
  export PC_DISABLE_DOTENV=1
  exec python3 "$STACK_ROOT/scripts/lib/dotenv-exec" "$STACK_ENV_FILE" "$0" "$@"
fi

: "${DB_HOST:=127.0.0.1}"
: "${DB_PORT:=3306}"
: "${DB_NAME:=users}"
: "${DB_USER:=users_app}"
: "${DB_PASSWORD:=users_dev_password}" # development only: set a real secret anywhere else
: "${MYSQL_DATA_DIR:=$STACK_ROOT/.data/mysql}"
# The metrics exporter's user: server status only, no table of any database.
: "${MONITOR_DB_USER:=users_monitor}"
: "${MONITOR_DB_PASSWORD:=users_monitor_dev_password}" # development only
# Unix socket paths longer than ~100 characters fail, so the socket lives in a short directory.
: "${MYSQL_SOCKET:=${TMPDIR:-/tmp}/users-mysql-${DB_PORT}.sock}"
# Every process's output, one file (process-compose.yaml writes it; `make logs` follows it).
: "${STACK_LOG_FILE:=$STACK_ROOT/.data/stack.log}"

MYSQL_DATA_DIR=$(realpath -m "$MYSQL_DATA_DIR")
STACK_LOG_FILE=$(realpath -m "$STACK_LOG_FILE")
export DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD MYSQL_DATA_DIR MYSQL_SOCKET STACK_LOG_FILE
export MONITOR_DB_USER MONITOR_DB_PASSWORD

# OBSERVABILITY=1: the metrics store, the database exporter and the alert evaluator.
: "${BACKEND_HOST:=127.0.0.1}" "${BACKEND_PORT:=8080}"
: "${FRONTEND_HOST:=127.0.0.1}" "${FRONTEND_METRICS_PORT:=8001}"
: "${METRICS_STORE_PORT:=8428}"
: "${MYSQLD_EXPORTER_PORT:=9104}"
: "${ALERTS_PORT:=8880}"
: "${METRICS_SCRAPE_INTERVAL:=15s}"
: "${METRICS_RETENTION:=14d}"
: "${METRICS_DATA_DIR:=$STACK_ROOT/.data/metrics}"
METRICS_DATA_DIR=$(realpath -m "$METRICS_DATA_DIR")
export BACKEND_HOST BACKEND_PORT FRONTEND_HOST FRONTEND_METRICS_PORT METRICS_STORE_PORT
export MYSQLD_EXPORTER_PORT ALERTS_PORT METRICS_SCRAPE_INTERVAL METRICS_RETENTION METRICS_DATA_DIR
# OBSERVABILITY=1 also starts the trace collector (OTLP/HTTP in: the services'
# OTEL_EXPORTER_OTLP_ENDPOINT; its health check on TRACE_COLLECTOR_HEALTH_PORT) and the trace
# viewer (Zipkin, UI at /zipkin/, keeping at most TRACE_VIEWER_MAX_SPANS spans in memory).
: "${TRACE_COLLECTOR_PORT:=4318}"
: "${TRACE_COLLECTOR_HEALTH_PORT:=13133}"
: "${TRACE_VIEWER_PORT:=9411}"
: "${TRACE_VIEWER_MAX_SPANS:=50000}"
export TRACE_COLLECTOR_PORT TRACE_COLLECTOR_HEALTH_PORT TRACE_VIEWER_PORT TRACE_VIEWER_MAX_SPANS

# The MySQL client program: MariaDB calls it `mariadb`, MySQL `mysql`.
mysql_client_program() {
  command -v mariadb || command -v mysql || {
    echo "error: no mysql or mariadb client on PATH (run 'make bootstrap', or use 'nix develop')" >&2
    return 127
  }
}

# The client as root over the socket.
mysql_client() {
  local client
  client=$(mysql_client_program) || return
  "$client" --no-defaults --protocol=socket --socket="$MYSQL_SOCKET" --user=root "$@"
}
