# Stand-in for the official redis:7-bookworm the local stack pulls (no image registry is reachable here): Debian 12's
# Redis 7, with the official image's contract as the stack uses it: `redis-server ...` as the command, protected mode
# off (the official image builds it so: other containers connect without a password), /data as the working directory
# (the append-only file), redis-cli for the health check, not run as root.
FROM debian:bookworm-slim
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends redis-server; rm -rf /var/lib/apt/lists/*; \
    install -d -o redis -g redis /data
COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
