-- One database per service, each owned by the service's own role: a service connects as itself,
-- can reach only its own database, and holds no superuser rights. Run once by the postgres
-- image on an empty data folder (docker-entrypoint-initdb.d), as the superuser, with each role's
-- password in the environment (ACCOUNTS_DB_PASSWORD, …; see docker-compose.yml). psql reads them
-- with \getenv (psql 15 or later); a missing one stops the script (ON_ERROR_STOP).
\set ON_ERROR_STOP on

\getenv accounts_password ACCOUNTS_DB_PASSWORD
\getenv billing_password BILLING_DB_PASSWORD
\getenv catalog_password CATALOG_DB_PASSWORD
\getenv vouchers_password VOUCHERS_DB_PASSWORD
\getenv tickets_password TICKETS_DB_PASSWORD
\getenv notifier_password NOTIFIER_DB_PASSWORD
\getenv insights_password INSIGHTS_DB_PASSWORD

CREATE ROLE accounts LOGIN PASSWORD :'accounts_password';
CREATE ROLE billing LOGIN PASSWORD :'billing_password';
CREATE ROLE catalog LOGIN PASSWORD :'catalog_password';
CREATE ROLE vouchers LOGIN PASSWORD :'vouchers_password';
CREATE ROLE tickets LOGIN PASSWORD :'tickets_password';
CREATE ROLE notifier LOGIN PASSWORD :'notifier_password';
CREATE ROLE insights LOGIN PASSWORD :'insights_password';

-- the owner creates its tables (PostgreSQL 15+: the public schema belongs to the database owner)
CREATE DATABASE accounts OWNER accounts;
CREATE DATABASE billing OWNER billing;
CREATE DATABASE catalog OWNER catalog;
CREATE DATABASE vouchers OWNER vouchers;
CREATE DATABASE tickets OWNER tickets;
CREATE DATABASE notifier OWNER notifier;
CREATE DATABASE insights OWNER insights;

-- nobody else may connect (PUBLIC has CONNECT on a new database by default)
REVOKE ALL ON DATABASE accounts FROM PUBLIC;
REVOKE ALL ON DATABASE billing FROM PUBLIC;
REVOKE ALL ON DATABASE catalog FROM PUBLIC;
REVOKE ALL ON DATABASE vouchers FROM PUBLIC;
REVOKE ALL ON DATABASE tickets FROM PUBLIC;
REVOKE ALL ON DATABASE notifier FROM PUBLIC;
REVOKE ALL ON DATABASE insights FROM PUBLIC;
