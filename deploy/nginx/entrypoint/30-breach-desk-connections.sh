#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts (executable *.sh files in
# /docker-entrypoint.d/). Every open dashboard holds a websocket, and nginx counts two
# connections for each one it proxies (the browser's and daphne's): the image's nginx.conf
# allows 1,024 per worker, about 1,000 dashboards on a 2-core host. NGINX_WORKER_CONNECTIONS
# (default 8192) raises that, and the workers' open-file limit with it (docker-compose.yml
# raises the container's own: ulimits).
set -eu
connections="${NGINX_WORKER_CONNECTIONS:-8192}"
conf="${NGINX_CONF:-/etc/nginx/nginx.conf}"  # the tests point it at a copy
sed -i "s/^\([[:space:]]*worker_connections\)[[:space:]]\{1,\}[0-9]\{1,\};/\1 ${connections};/" "$conf"
sed -i "/^worker_rlimit_nofile /d" "$conf"  # a restarted container runs this again
sed -i "1i worker_rlimit_nofile $((connections * 2));" "$conf"
