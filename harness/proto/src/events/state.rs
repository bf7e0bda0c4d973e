//! The `Subscription-State` header (RFC 6665 Section 8.2.3).

/// The subscription state a NOTIFY reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    /// `active`.
    Active,
    /// `pending`.
    Pending,
    /// `terminated`.
    Terminated,
}

/// A parsed `Subscription-State` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// The state.
    pub state: SubState,
    /// `expires` (seconds), if given.
    pub expires: Option<u32>,
    /// `reason` (terminated), if given.
    pub reason: Option<String>,
    /// `retry-after` (seconds), if given.
    pub retry_after: Option<u32>,
}

impl SubscriptionState {
    /// `active;expires=N`.
    pub fn active(expires: u32) -> Self {
        Self {
            state: SubState::Active,
            expires: Some(expires),
            reason: None,
            retry_after: None,
        }
    }

    /// `terminated;reason=R`.
    pub fn terminated(reason: &str) -> Self {
        Self {
            state: SubState::Terminated,
            expires: None,
            reason: Some(reason.to_owned()),
            retry_after: None,
        }
    }

    /// Parses a header value; `Err` says why it is not one.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut parts = value.split(';');
        let state = match parts
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "active" => SubState::Active,
            "pending" => SubState::Pending,
            "terminated" => SubState::Terminated,
            other => return Err(format!("unknown subscription state {other:?}")),
        };
        let mut out = Self {
            state,
            expires: None,
            reason: None,
            retry_after: None,
        };
        for p in parts {
            let (name, val) = p.split_once('=').unwrap_or((p, ""));
            let name = name.trim().to_ascii_lowercase();
            let val = val.trim();
            let num = || {
                val.parse::<u32>()
                    .map_err(|_| format!("{name}={val:?} is not a number of seconds"))
            };
            match name.as_str() {
                "expires" => out.expires = Some(num()?),
                "retry-after" => out.retry_after = Some(num()?),
                "reason" => out.reason = Some(val.to_ascii_lowercase()),
                _ => {}
            }
        }
        Ok(out)
    }
}

impl std::fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            SubState::Active => "active",
            SubState::Pending => "pending",
            SubState::Terminated => "terminated",
        })?;
        if let Some(e) = self.expires {
            write!(f, ";expires={e}")?;
        }
        if let Some(r) = &self.reason {
            write!(f, ";reason={r}")?;
        }
        if let Some(r) = self.retry_after {
            write!(f, ";retry-after={r}")?;
        }
        Ok(())
    }
}
