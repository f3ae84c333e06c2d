//! Every environment variable the functions read, with what reads it, what it means and its
//! default: the one statement of each. [`crate::config`] takes its defaults from here, and
//! README's configuration table is generated from it (`cargo xtask generate`).

/// One row of the table: variables that go together, their readers, meaning and defaults.
#[derive(Debug, Clone, Copy)]
pub struct Variables {
    /// The variables' names.
    pub names: &'static [&'static str],
    /// Which functions read them.
    pub used_by: &'static str,
    /// What they mean (Markdown).
    pub meaning: &'static str,
    /// Each one's default, in the order of `names`: a value the code parses, or what happens
    /// without one (`Text`).
    pub defaults: Default,
}

/// A row's defaults.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// Values, one per name; each with an optional gloss (`30 days`).
    Values(&'static [(&'static str, &'static str)]),
    /// No value: what happens without one.
    Text(&'static str),
}

/// The table.
pub const VARIABLES: &[Variables] = &[
    Variables {
        names: &["APP_SECRET_ARN"],
        used_by: "API functions",
        meaning: "secret with `{\"jwt_secret\": \"...\"}`",
        defaults: Default::Text("— (local mode)"),
    },
    Variables {
        names: &["DB_SECRET_ARN"],
        used_by: "API functions, migrate",
        meaning: "database secret in the RDS format (`username, password, host, port, dbname`), or Aurora's managed master secret (only `username, password`) with `DB_HOST`, `DB_PORT`, `DB_NAME`",
        defaults: Default::Text("— (local mode)"),
    },
    Variables {
        names: &["API_DB_SECRET_ARN"],
        used_by: "migrate",
        meaning: "the API functions' database role (`cinema_api`: rows, never the schema) and its password (`{\"username\", \"password\"}`): the migrate function gives the role LOGIN with it after migrating",
        defaults: Default::Text("none: the role is not opened"),
    },
    Variables {
        names: &["DB_HOST", "DB_PORT", "DB_NAME"],
        used_by: "API functions, migrate (secret mode)",
        meaning: "where to connect; each overrides the secret's field, and is required when the secret lacks it (the error names the field and the variable)",
        defaults: Default::Text("the secret's"),
    },
    Variables {
        names: &["ADMIN_SECRET_ARN"],
        used_by: "migrate",
        meaning: "first admin: `{\"username\", \"password\", \"full_name\"?}`",
        defaults: Default::Text("none: no admin is created"),
    },
    Variables {
        names: &["DB_SSL_MODE"],
        used_by: "API functions, migrate (secret mode)",
        meaning: "PostgreSQL `sslmode`; `verify-full` checks the server's certificate against the bundled Mozilla roots, which hold the Amazon Root CAs that RDS Proxy's certificates chain to",
        defaults: Default::Values(&[("verify-full", "")]),
    },
    Variables {
        names: &["DB_SSL_ROOT_CERT"],
        used_by: "API functions, migrate (secret mode)",
        meaning: "a PEM file (in the package or a layer) of the authorities that signed a self-managed server's certificate, used in place of the bundled RDS ones; read once at start, an unreadable or empty file stops the start",
        defaults: Default::Text("the bundled RDS authorities"),
    },
    Variables {
        names: &["DB_STATEMENT_TIMEOUT_MS", "DB_LOCK_TIMEOUT_MS"],
        used_by: "API functions, migrate",
        meaning: "the server cancels a statement or a lock wait past this budget and the request gets a 503 with `Retry-After`, nothing committed. API functions set them on each new connection with one statement, never as startup options, which RDS Proxy refuses; with a created database they are left unset, since the API role has the same limits as its own settings (`cinema_api`, migration 0010); the migrate function sets its own in its session",
        defaults: Default::Text("none"),
    },
    Variables {
        names: &["ROUTES"],
        used_by: "fallback",
        meaning: "JSON object from path prefix (`/genres`) to the name of the function serving it",
        defaults: Default::Text("—"),
    },
    Variables {
        names: &["DATABASE_URL"],
        used_by: "local mode",
        meaning: "PostgreSQL URL",
        defaults: Default::Text("—"),
    },
    Variables {
        names: &["JWT_SECRET"],
        used_by: "local mode",
        meaning: "signing key, at least 32 characters",
        defaults: Default::Text("—"),
    },
    Variables {
        names: &[
            "FIRST_ADMIN_USERNAME",
            "FIRST_ADMIN_PASSWORD",
            "FIRST_ADMIN_FULL_NAME",
        ],
        used_by: "migrate, local mode",
        meaning: "first admin",
        defaults: Default::Text("none"),
    },
    Variables {
        names: &["ACCESS_TOKEN_TTL_SECONDS"],
        used_by: "API functions",
        meaning: "access token lifetime",
        defaults: Default::Values(&[("900", "")]),
    },
    Variables {
        names: &["REFRESH_TOKEN_TTL_SECONDS"],
        used_by: "API functions",
        meaning: "refresh token lifetime",
        defaults: Default::Values(&[("2592000", "30 days")]),
    },
    Variables {
        names: &["DEVICE_TOKEN_TTL_SECONDS"],
        used_by: "auth",
        meaning: "how long a device token keeps a device trusted for sign-in",
        defaults: Default::Values(&[("31536000", "365 days")]),
    },
    Variables {
        names: &["BCRYPT_COST"],
        used_by: "auth, migrate",
        meaning: "bcrypt cost (4–31)",
        defaults: Default::Values(&[("12", "")]),
    },
    Variables {
        names: &["DB_CONNECT_AT_INIT"],
        used_by: "API functions",
        meaning: "`true`: open the pool's first connection (TCP, TLS, sign-in) during init, which Lambda runs on a whole vCPU, rather than in the first request, which gets the memory's share; a database that does not answer within 4 s is left to the requests. The template sets `false` when the database pauses, so that an instance Lambda initializes ahead of any request does not resume it",
        defaults: Default::Values(&[("true", "")]),
    },
    Variables {
        names: &["DB_POOL_MAX_CONNECTIONS"],
        used_by: "all",
        meaning: "pool size per instance (at least 2: an idempotent booking that loses a race reads the winner on a second connection)",
        defaults: Default::Values(&[("2", "")]),
    },
    Variables {
        names: &["DB_ACQUIRE_TIMEOUT_SECONDS"],
        used_by: "all",
        meaning: "how long a request waits for a connection before a 503",
        defaults: Default::Values(&[("5", "")]),
    },
    Variables {
        names: &["DB_IDLE_TIMEOUT_SECONDS"],
        used_by: "all",
        meaning: "a pooled connection idle this long is closed, giving its slot back to the database",
        defaults: Default::Values(&[("300", "")]),
    },
    Variables {
        names: &["SIGN_IN_ACCOUNT_LIMIT", "SIGN_IN_ADDRESS_LIMIT"],
        used_by: "auth",
        meaning: "failed sign-ins (or current-password checks) for one username or device token, and from one client address, before it is locked (see Accounts)",
        defaults: Default::Values(&[("5", ""), ("50", "")]),
    },
    Variables {
        names: &["SIGN_IN_WINDOW_SECONDS"],
        used_by: "auth",
        meaning: "failures count until this long passes without another (at most a day)",
        defaults: Default::Values(&[("900", "")]),
    },
    Variables {
        names: &["SIGN_IN_LOCKOUT_SECONDS", "SIGN_IN_MAX_LOCKOUT_SECONDS"],
        used_by: "auth",
        meaning: "the first lock-out, doubled by each further failure up to the maximum",
        defaults: Default::Values(&[("30", ""), ("900", "")]),
    },
    Variables {
        names: &["REGISTRATION_ADDRESS_LIMIT", "REGISTRATION_WINDOW_SECONDS"],
        used_by: "auth",
        meaning: "registrations from one client address per window",
        defaults: Default::Values(&[("300", ""), ("3600", "")]),
    },
    Variables {
        names: &["HOLD_LIMIT_SEATS", "HOLD_LIMIT_PER_SCREENING"],
        used_by: "reservations",
        meaning: "unpaid seats a customer may hold over every screening to come, and of one screening (staff are not limited)",
        defaults: Default::Values(&[("20", ""), ("10", "")]),
    },
    Variables {
        names: &["RESERVATION_PAY_BY_MINUTES"],
        used_by: "reservations",
        meaning: "an unpaid reservation lapses this long before its screening starts (`pay_by`); after that, seats are sold only with payment at the till (template parameter `ReservationPayByMinutes`)",
        defaults: Default::Values(&[("30", "")]),
    },
    Variables {
        names: &["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"],
        used_by: "reservations, payments (local mode)",
        meaning: "the Stripe account's secret key and the webhook endpoint's signing secret; deployed, they are `stripe_secret_key` and `stripe_webhook_secret` in the application secret. Without a secret key, checkout answers 503 `payments_unavailable` and everything else works",
        defaults: Default::Text("none: no online sales"),
    },
    Variables {
        names: &["STRIPE_API_BASE"],
        used_by: "reservations, payments",
        meaning: "where the provider's API is (`make dev` and `make test`: the local stand-in)",
        defaults: Default::Values(&[("https://api.stripe.com", "")]),
    },
    Variables {
        names: &["STRIPE_PUBLISHABLE_KEY"],
        used_by: "docs",
        meaning: "the Stripe account's publishable key, for the shop page's card element (template parameter `StripePublishableKey`)",
        defaults: Default::Text("none: the shop page cannot take cards"),
    },
    Variables {
        names: &["STRIPE_JS_URL"],
        used_by: "docs",
        meaning: "where the shop page loads Stripe's browser script from (`make dev`: the local stand-in's)",
        defaults: Default::Values(&[("https://js.stripe.com/v3/", "")]),
    },
    Variables {
        names: &["PAYMENTS_FUNCTION"],
        used_by: "reservations",
        meaning: "the payments function, outside the VPC, that calls the provider for the functions in it (through the VPC's Lambda endpoint); empty, online sales are off (template parameter `OnlineSales=disabled`)",
        defaults: Default::Text("unset: the function calls the provider itself"),
    },
    Variables {
        names: &["CURRENCY"],
        used_by: "reservations",
        meaning: "the currency prices are in (ISO 4217, lowercase), for online payments",
        defaults: Default::Values(&[("eur", "")]),
    },
    Variables {
        names: &["CHECKOUT_HOLD_MINUTES", "REFUND_CUTOFF_MINUTES"],
        used_by: "reservations",
        meaning: "a hold in checkout lapses this long after it is made (or at its usual `pay_by`, if earlier); a customer may cancel an online purchase, refunded, until this long before the screening starts (staff until it starts)",
        defaults: Default::Values(&[("10", ""), ("120", "")]),
    },
    Variables {
        names: &["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL"],
        used_by: "all",
        meaning: "log format (`JSON` when deployed) and level (or `RUST_LOG`); keep `lambda_runtime` and `lambda_http` at `INFO` or above in production: at `TRACE` the runtime logs raw events, request bodies included",
        defaults: Default::Text("text, `INFO`"),
    },
];

/// The default of variable `name`, as the code parses it.
///
/// # Panics
/// When `name` has no value default in [`VARIABLES`]: a setting read with a default must say
/// it here (the tests read every one).
pub fn default_of(name: &str) -> &'static str {
    VARIABLES
        .iter()
        .find_map(|row| {
            let index = row.names.iter().position(|n| *n == name)?;
            match row.defaults {
                Default::Values(values) => values.get(index).map(|(value, _)| *value),
                Default::Text(_) => None,
            }
        })
        .unwrap_or_else(|| panic!("{name} has no default in shared::variables::VARIABLES"))
}

/// README's configuration table, as `cargo xtask generate` writes it.
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | used by | meaning | default |\n|---|---|---|---|\n");
    for row in VARIABLES {
        let names: Vec<String> = row.names.iter().map(|n| format!("`{n}`")).collect();
        let defaults = match row.defaults {
            Default::Values(values) => values
                .iter()
                .map(|(value, gloss)| {
                    if gloss.is_empty() {
                        format!("`{value}`")
                    } else {
                        format!("`{value}` ({gloss})")
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            Default::Text(text) => text.to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {defaults} |\n",
            names.join(", "),
            row.used_by,
            row.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_default_is_one_per_name_and_parses_as_the_code_reads_it() {
        for row in VARIABLES {
            if let Default::Values(values) = row.defaults {
                assert_eq!(values.len(), row.names.len(), "{:?}", row.names);
            }
        }
        // The settings read with no variable set are exactly the table's defaults.
        let settings = crate::Settings::from_env(&[("UNRELATED", "1")]).expect("defaults");
        assert_eq!(
            settings.access_token_ttl.as_secs().to_string(),
            default_of("ACCESS_TOKEN_TTL_SECONDS")
        );
        assert_eq!(
            settings.hold_limits.per_screening.to_string(),
            default_of("HOLD_LIMIT_PER_SCREENING")
        );
        assert_eq!(settings.limits.sign_in_per_address.to_string(), "50");
    }
}
