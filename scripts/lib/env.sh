# shellcheck shell=bash
# Defaults shared by the stack scripts; every value can be overridden from the environment or .env.

: "${DB_HOST:=127.0.0.1}"
: "${DB_PORT:=3306}"
: "${DB_NAME:=users}"
: "${DB_USER:=users_app}"
: "${DB_PASSWORD:=users_dev_password}" # development only: set a real secret anywhere else
: "${MYSQL_DATA_DIR:=.data/mysql}"
# Unix socket paths longer than ~100 characters fail, so the socket lives in a short directory.
: "${MYSQL_SOCKET:=${TMPDIR:-/tmp}/users-mysql-${DB_PORT}.sock}"

MYSQL_DATA_DIR=$(realpath -m "$MYSQL_DATA_DIR")
export DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD MYSQL_DATA_DIR MYSQL_SOCKET

# Debian keeps mysqld in /usr/sbin, which is not on a normal user's PATH; appended, so tools that
# Nix puts on PATH still win.
PATH="$PATH:/usr/sbin:/usr/local/sbin"

# The MySQL client: MariaDB ships it as `mariadb` (with a `mysql` alias), MySQL as `mysql`.
mysql_client() {
  local client
  client=$(command -v mariadb || command -v mysql) || {
    echo "error: no mysql or mariadb client on PATH" >&2
    return 127
  }
  "$client" --no-defaults --protocol=socket --socket="$MYSQL_SOCKET" --user=root "$@"
}
