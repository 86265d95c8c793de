-- One database per service: each service owns its data and nothing else reads it.
CREATE DATABASE accounts;
CREATE DATABASE billing;
CREATE DATABASE catalog;
CREATE DATABASE vouchers;
CREATE DATABASE tickets;
CREATE DATABASE notifier;
