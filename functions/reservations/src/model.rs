//! A reservation as the API shows it, read from the `reservation_details` view.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::{AuthUser, Result, Role};
use sqlx::PgConnection;
use sqlx::types::Json as Jsonb;
use utoipa::ToSchema;

/// A reservation's state. `active` and `paid` reservations hold their seats; an `active` one
/// not paid by its `pay_by` is `lapsed` from that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "reservation_status", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Active,
    Paid,
    Cancelled,
    Lapsed,
}

/// How a reservation was paid: at the till (`cash`, `card`) or online by the customer
/// (`online`, never given in a request: checkout sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "payment_method", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum PaymentMethod {
    Cash,
    Card,
    Online,
}

/// An open checkout: pay the PaymentIntent with the provider's card element before
/// `expires_at` (the reservation's `pay_by`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct Checkout {
    /// Always `stripe`.
    #[schema(examples("stripe"))]
    pub(crate) provider: String,
    #[schema(examples("pi_3MtwBwLkdIwHu7ix28a3tqPa"))]
    pub(crate) payment_intent_id: String,
    /// For the provider's card element (Stripe.js `confirmCardPayment`).
    pub(crate) client_secret: String,
    /// The reservation's total price in the currency's minor units (cents).
    #[schema(examples(1520))]
    pub(crate) amount: i64,
    #[schema(examples("eur"))]
    pub(crate) currency: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// An online payment being returned, or returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct RefundInfo {
    /// `pending` until the provider confirms; `failed` refunds are retried and listed for
    /// staff (`GET /reservations?refund_status=failed`).
    pub(crate) status: RefundStatus,
    /// In the currency's minor units: the whole payment.
    pub(crate) amount: i64,
    pub(crate) currency: String,
    /// `requested_by_customer`, `lapsed_before_payment` (paid after the hold lapsed and its
    /// seats were taken), `paid_at_till` (paid twice: the till's payment is kept),
    /// `reservation_cancelled` or `screening_cancelled`.
    pub(crate) reason: String,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    /// As the database stores it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// The customer a reservation is for.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Customer {
    id: i64,
    username: String,
    full_name: String,
}

/// Who made the booking: the customer, a cashier or an admin.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Booker {
    id: i64,
    username: String,
    role: Role,
}

/// The cashier or admin who took a payment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Cashier {
    id: i64,
    username: String,
}

/// A film, by id and title.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Named {
    pub(crate) id: i64,
    pub(crate) title: String,
}

/// A hall, by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HallRef {
    pub(crate) id: i64,
    pub(crate) name: String,
}

/// The screening a reservation is for.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScreeningRef {
    id: i64,
    starts_at: DateTime<Utc>,
    film: Named,
    hall: HallRef,
}

/// A booked seat.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct BookedSeat {
    /// Null only once an admin has withdrawn the seat after this reservation was cancelled.
    ticket_id: Option<i64>,
    row: i32,
    seat: i32,
    /// The price fixed at booking time.
    #[schema(value_type = String, examples("12.50"))]
    price: Decimal,
    /// The seat's pass, once the reservation is paid: the code to show at the door.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(examples("q9XcU3m0Rk2bV7yT1aLw4Q"))]
    code: Option<String>,
}

/// A reservation: seats of one screening for one customer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Reservation {
    pub(crate) id: i64,
    status: Status,
    user: Customer,
    booked_by: Booker,
    screening: ScreeningRef,
    tickets: Vec<BookedSeat>,
    /// The sum of the seats' prices.
    #[schema(value_type = String, examples("25.00"))]
    total_price: Decimal,
    created_at: DateTime<Utc>,
    /// Unpaid by then, the reservation lapses and its seats are free.
    pay_by: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    payment_method: Option<PaymentMethod>,
    /// Who took the payment.
    paid_by: Option<Cashier>,
    cancelled_at: Option<DateTime<Utc>>,
    /// A paid reservation that was cancelled and its money returned (at the till in cash; an
    /// online payment once the provider confirms the refund).
    refunded: bool,
    /// The open checkout of an `active` reservation being paid online.
    pub(crate) checkout: Option<Checkout>,
    /// The latest refund of an online payment for it.
    refund: Option<RefundInfo>,
}

impl Reservation {
    /// The customer's id.
    pub(crate) fn user_id(&self) -> i64 {
        self.user.id
    }

    /// Its state as it reads now.
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    /// When it was booked (what makes its checkout's idempotency key unique).
    pub(crate) fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// Unpaid by then, it lapses.
    pub(crate) fn pay_by(&self) -> DateTime<Utc> {
        self.pay_by
    }

    /// Its total price.
    pub(crate) fn total_price(&self) -> Decimal {
        self.total_price
    }
}

/// A `reservation_details` row.
pub(crate) struct Row {
    pub(crate) id: i64,
    pub(crate) status: Status,
    pub(crate) total_price: Decimal,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) cancelled_at: Option<DateTime<Utc>>,
    pub(crate) user_id: i64,
    pub(crate) user_username: String,
    pub(crate) user_full_name: String,
    pub(crate) booked_by_id: i64,
    pub(crate) booked_by_username: String,
    pub(crate) booked_by_role: Role,
    pub(crate) screening_id: i64,
    pub(crate) screening_starts_at: DateTime<Utc>,
    pub(crate) film_id: i64,
    pub(crate) film_title: String,
    pub(crate) hall_id: i64,
    pub(crate) hall_name: String,
    pub(crate) tickets: Jsonb<Vec<BookedSeat>>,
    pub(crate) pay_by: DateTime<Utc>,
    pub(crate) paid_at: Option<DateTime<Utc>>,
    pub(crate) payment_method: Option<PaymentMethod>,
    pub(crate) paid_by_id: Option<i64>,
    pub(crate) paid_by_username: Option<String>,
    pub(crate) refunded: bool,
    pub(crate) checkout: Option<Jsonb<Checkout>>,
    pub(crate) refund: Option<Jsonb<RefundInfo>>,
}

impl From<Row> for Reservation {
    fn from(row: Row) -> Self {
        Reservation {
            id: row.id,
            status: row.status,
            user: Customer {
                id: row.user_id,
                username: row.user_username,
                full_name: row.user_full_name,
            },
            booked_by: Booker {
                id: row.booked_by_id,
                username: row.booked_by_username,
                role: row.booked_by_role,
            },
            screening: ScreeningRef {
                id: row.screening_id,
                starts_at: row.screening_starts_at,
                film: Named {
                    id: row.film_id,
                    title: row.film_title,
                },
                hall: HallRef {
                    id: row.hall_id,
                    name: row.hall_name,
                },
            },
            tickets: row.tickets.0,
            total_price: row.total_price,
            created_at: row.created_at,
            pay_by: row.pay_by,
            paid_at: row.paid_at,
            payment_method: row.payment_method,
            paid_by: row
                .paid_by_id
                .zip(row.paid_by_username)
                .map(|(id, username)| Cashier { id, username }),
            cancelled_at: row.cancelled_at,
            refunded: row.refunded,
            checkout: row.checkout.map(|c| c.0),
            refund: row.refund.map(|r| r.0),
        }
    }
}

/// The reservation as the API shows it. With `caller`, the caller's current role must still be
/// what the token says (a reservation read back after a booking or cancel the same request
/// made is read without: that request's own statement checked the caller, and a demotion
/// committed since must not turn a committed booking into an error). One query.
pub(crate) async fn fetch(
    db: &mut PgConnection,
    id: i64,
    caller: Option<AuthUser>,
) -> Result<Option<Reservation>> {
    let row = sqlx::query_as!(
        Row,
        r#"select id as "id!", status as "status!: Status", total_price as "total_price!", created_at as "created_at!",
                  cancelled_at, user_id as "user_id!", user_username as "user_username!",
                  user_full_name as "user_full_name!", booked_by_id as "booked_by_id!",
                  booked_by_username as "booked_by_username!", booked_by_role as "booked_by_role!: Role",
                  screening_id as "screening_id!", screening_starts_at as "screening_starts_at!",
                  film_id as "film_id!", film_title as "film_title!", hall_id as "hall_id!", hall_name as "hall_name!",
                  tickets as "tickets!: Jsonb<Vec<BookedSeat>>", pay_by as "pay_by!", paid_at,
                  payment_method as "payment_method: PaymentMethod", paid_by_id, paid_by_username,
                  refunded as "refunded!", checkout as "checkout: Jsonb<Checkout>",
                  refund as "refund: Jsonb<RefundInfo>"
           from reservation_details
           where id = $1 and ($2::bigint is null or authorize_claim($2, $3))"#,
        id,
        caller.map(|caller| caller.id),
        caller.is_some_and(|caller| caller.role.is_staff()),
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Reservation::from))
}
