#!/usr/bin/env bash
# The services step of `pnpm test`: the integration tests talk to real servers on loopback
# (PostgreSQL, Redis, MariaDB, RabbitMQ, NATS, Mosquitto) and drive Debian's Chromium.
# - a service that is installed but down is started;
# - a missing one is installed from Debian's packages (and set up as the tests expect) when this
#   runs as root with apt-get, unless PALISADE_SERVICES_INSTALL=never;
# - otherwise it stops at once, naming each missing service and the command that installs it.
# A service that is installed but cannot be started is reported and the tests that need it fail
# with their own message.
set -uo pipefail

install_mode=${PALISADE_SERVICES_INSTALL:-auto}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }

# name | Debian package | a binary that shows it is installed | port ('-' for none) | start command
SERVICES=(
  'PostgreSQL|postgresql|pg_ctlcluster|5432|pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
  'Redis|redis-server|redis-server|6379|mkdir -p /var/lib/redis /var/log/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
  'MariaDB|mariadb-server|/usr/sbin/mariadbd|3306|start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'
  'RabbitMQ|rabbitmq-server|rabbitmq-server|5672|rabbitmq-server -detached'
  'NATS|nats-server|/usr/sbin/nats-server|4222|mkdir -p /var/lib/nats-server && start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log'
  'Mosquitto|mosquitto|mosquitto|1883|mosquitto -d -c /etc/mosquitto/mosquitto.conf'
  'Chromium|chromium|/usr/bin/chromium|-|'
)

field() { cut -d'|' -f"$2" <<<"$1"; }

missing=()
for entry in "${SERVICES[@]}"; do
  have "$(field "$entry" 3)" || missing+=("$entry")
done

if [ ${#missing[@]} -gt 0 ]; then
  packages=$(for entry in "${missing[@]}"; do field "$entry" 2; done | tr '\n' ' ')
  packages=${packages% }
  if [ "$install_mode" != never ] && [ "$(id -u)" = 0 ] && have apt-get; then
    echo "services: installing from Debian's packages: $packages"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 -- the package list is meant to split into words
    if ! { apt-get update -qq && apt-get install -y -qq $packages >/dev/null; }; then
      echo "services: apt-get install $packages failed" >&2
      exit 1
    fi
    for entry in "${missing[@]}"; do
      case "$(field "$entry" 2)" in
        postgresql) setup_postgresql=1 ;;
        mariadb-server) setup_mariadb=1 ;;
      esac
    done
  else
    echo "services: the integration tests need these, which are not installed:" >&2
    for entry in "${missing[@]}"; do
      echo "  $(field "$entry" 1): apt-get install -y $(field "$entry" 2)" >&2
    done
    echo "services: as root, in one command: apt-get update && apt-get install -y $packages" >&2
    [ "$install_mode" = never ] && echo "services: (PALISADE_SERVICES_INSTALL=never: not installing)" >&2
    exit 1
  fi
fi

for entry in "${SERVICES[@]}"; do
  name=$(field "$entry" 1) port=$(field "$entry" 4) start=$(field "$entry" 5)
  [ "$port" = - ] && continue
  if listening "$port"; then
    echo "services: $name is up on 127.0.0.1:$port"
    continue
  fi
  echo "services: $name is down; starting it"
  bash -c "$start" >/dev/null 2>&1 || true
  up=0
  for _ in $(seq 1 60); do
    if listening "$port"; then up=1; break; fi
    sleep 1
  done
  if [ $up = 1 ]; then
    echo "services: $name is up on 127.0.0.1:$port"
  else
    echo "services: $name did not come up on 127.0.0.1:$port (start command: $start); the tests that need it will fail" >&2
  fi
done

# What a freshly installed server needs to match the development machines: trust on loopback and
# a database named test.
if [ "${setup_postgresql:-0}" = 1 ]; then
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >"$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main reload >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test' >/dev/null
  echo "services: PostgreSQL set up (trust on loopback, database test)"
fi
if [ "${setup_mariadb:-0}" = 1 ]; then
  mariadb -uroot <<'SQL' >/dev/null
CREATE DATABASE IF NOT EXISTS test;
ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  echo "services: MariaDB set up (root without a password on loopback, database test)"
fi

echo "services: Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
