# Stand-in for the official postgres:17-bookworm the local stack pulls (no image registry is reachable here): Debian
# 12's PostgreSQL 15 with the official image's contract as the stack uses it: POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB make the role and database on first start, the data in /var/lib/postgresql/data (a volume), password
# authentication from the network, pg_isready for the health check.
FROM debian:bookworm-slim
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends postgresql-15; rm -rf /var/lib/apt/lists/*; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
