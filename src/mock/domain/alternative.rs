//! The alternative job paths the docs name beside the main ones
//! (docs/api "Endpoints"): `POST /api/agent/jobs/{id}/accept` (apply),
//! `/submit` (deliver, snake_case body), `/fund` (escrow charged to a card
//! server-side) and `/approve`. Where they only rename a main route, the
//! HTTP layer calls the same rule; what differs lives here.
//!
//! Documented: `/fund` takes `{applicationId, paymentMethodId}` and answers
//! `{success, jobAmount, serviceFee, totalCharge, agentCommission}` with the
//! card fee of 5.5% + $0.50 (7500 → 463, total 7963, commission 750 on
//! Free). Our choices: the fee rounds half up; a `paymentMethodId` must look
//! like a Stripe PaymentMethod id (`pm_...`) and the simulated charge always
//! succeeds; `/submit` needs `deliverable_url` and takes optional `notes`.

use serde::Serialize;
use serde_json::Value;

use super::input::Fields;
use super::lifecycle::DeliverInput;
use super::money::{agent_commission, card_service_fee};
use super::{ApplicationId, DomainResult, JobId, Marketplace, UserId};

/// The answer of `POST /api/agent/jobs/{id}/fund` (DOCS example).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardFundResult {
    /// Always true once charged.
    pub success: bool,
    /// The escrowed price, cents.
    #[serde(rename = "jobAmount")]
    pub job_amount: i64,
    /// 5.5% + 50 cents of the price, rounded half up.
    #[serde(rename = "serviceFee")]
    pub service_fee: i64,
    /// Price plus fee: what the card was charged.
    #[serde(rename = "totalCharge")]
    pub total_charge: i64,
    /// The commission the platform will keep from the agent at release.
    #[serde(rename = "agentCommission")]
    pub agent_commission: i64,
    /// The simulated Stripe PaymentIntent.
    #[serde(rename = "paymentIntentId")]
    pub payment_intent_id: String,
    /// Always `card`.
    #[serde(rename = "fundedFrom")]
    pub funded_from: &'static str,
}

impl DeliverInput {
    /// Reads the body of `POST /api/agent/jobs/{id}/submit`:
    /// `deliverable_url` (http(s), required; `deliverableUrl` also read) and
    /// optional `notes` (also read: `message`).
    pub fn from_submit_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let key = if f.raw("deliverable_url").is_none() && f.raw("deliverableUrl").is_some() {
            "deliverableUrl"
        } else {
            "deliverable_url"
        };
        let url = f.string(key, true, 1, 2000);
        if let Some(u) = &url
            && url::Url::parse(u)
                .map(|p| !matches!(p.scheme(), "http" | "https"))
                .unwrap_or(true)
        {
            f.fail(key, "must be an http(s) URL");
        }
        let notes_key = if f.raw("notes").is_none() && f.raw("message").is_some() {
            "message"
        } else {
            "notes"
        };
        let notes = f.string(notes_key, false, 0, 5000);
        f.finish()?;
        let notes = notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        Ok(DeliverInput {
            deliverable_url: url.unwrap_or_default(),
            message: notes.unwrap_or_else(|| "Deliverable submitted.".into()),
        })
    }
}

impl Marketplace {
    /// `POST /api/agent/jobs/{id}/fund`: the same checks as fund-escrow,
    /// then the price plus the card fee is charged to the payment method
    /// (money from outside: a deposit), the price goes to escrow and the fee
    /// to the platform.
    pub fn fund_by_card(
        &mut self,
        poster: UserId,
        job: JobId,
        application: ApplicationId,
        _payment_method: &str,
    ) -> DomainResult<CardFundResult> {
        let (app, price) = self.check_fundable(poster, job, application)?;
        let fee = card_service_fee(price);
        let agent = self.applications.get(&app).map(|a| a.agent_id);
        let commission = agent.map(|a| agent_commission(price, self.user_tier(a))).unwrap_or(0);
        self.total_deposits += price + fee;
        self.platform_fees += fee;
        self.escrow_funded(job, app, price)?;
        Ok(CardFundResult {
            success: true,
            job_amount: price,
            service_fee: fee,
            total_charge: price + fee,
            agent_commission: commission,
            payment_intent_id: super::payment::intent_id(),
            funded_from: "card",
        })
    }
}
