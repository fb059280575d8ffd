#!/usr/bin/env bash
# Starts each local service the integration tests use when it is not listening, with the start
# commands of the development machines (all on loopback). A service that cannot be started is
# reported; the tests that need it then fail with their own message.
set -uo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure() {
  local name=$1 port=$2 start=$3
  if listening "$port"; then
    echo "services: $name is up on 127.0.0.1:$port"
    return 0
  fi
  echo "services: $name is down; starting it"
  bash -c "$start" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    if listening "$port"; then
      echo "services: $name is up on 127.0.0.1:$port"
      return 0
    fi
    sleep 1
  done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

status=0
ensure PostgreSQL 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' || status=1
ensure Redis 6379 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log' || status=1
ensure MariaDB 3306 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd' || status=1
ensure RabbitMQ 5672 'rabbitmq-server -detached' || status=1
ensure NATS 4222 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log' || status=1
ensure Mosquitto 1883 'mosquitto -d -c /etc/mosquitto/mosquitto.conf' || status=1
exit $status
