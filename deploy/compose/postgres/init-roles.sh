#!/bin/sh
# Runs once, on the first start of the PostgreSQL volume (the postgres
# image's /docker-entrypoint-initdb.d): the same least-privilege layout as
# scripts/stack.sh's pg_setup.
#   - role promoflow owns schema promoflow of database promoflow and nothing
#     else: no CREATEDB, no CREATEROLE, no CREATE on the database;
#   - role temporal may create its own databases (temporal,
#     temporal_visibility), which temporalio/auto-setup creates and migrates.
# Passwords come from the container's environment (.env), never from here.
set -eu
: "${PROMOFLOW_PG_PASSWORD:?}" "${TEMPORAL_PG_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 -U postgres -d postgres \
	-v pf_pw="$PROMOFLOW_PG_PASSWORD" -v t_pw="$TEMPORAL_PG_PASSWORD" <<'SQL'
CREATE ROLE promoflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pf_pw';
CREATE ROLE temporal LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD :'t_pw';
CREATE DATABASE promoflow OWNER postgres;
REVOKE CREATE, TEMPORARY ON DATABASE promoflow FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE promoflow TO promoflow;
ALTER ROLE promoflow IN DATABASE promoflow SET search_path = promoflow;
SQL

psql -v ON_ERROR_STOP=1 -U postgres -d promoflow <<'SQL'
ALTER SCHEMA public OWNER TO pg_database_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS promoflow AUTHORIZATION promoflow;
SQL
