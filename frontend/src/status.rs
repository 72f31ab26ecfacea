//! A terminal page's connection status, as the indicator and the banner
//! show it.

/// What the status indicator shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Connecting,
    Live,
    Reconnecting,
    /// The session's spoke is not connected; why, as the hub said (empty
    /// until it has).
    SpokeDown(String),
    Exited(String),
    Error(String),
}

impl Status {
    pub fn label(&self) -> String {
        match self {
            Status::Connecting => "connecting".to_owned(),
            Status::Live => "live".to_owned(),
            Status::Reconnecting => "reconnecting".to_owned(),
            Status::SpokeDown(_) => "spoke down: waiting for it".to_owned(),
            Status::Exited(how) => format!("exited ({how})"),
            Status::Error(e) => format!("error: {e}"),
        }
    }

    /// What the page says above the terminal in a bad state.
    pub fn banner(&self) -> Option<String> {
        match self {
            Status::Connecting | Status::Live => None,
            Status::Reconnecting => Some(
                "The hub is unreachable. Reconnecting; output will resume where it stopped."
                    .to_owned(),
            ),
            Status::SpokeDown(why) if why.is_empty() => Some(
                "The spoke that runs this session is unreachable. The hub keeps trying; \
                 output will resume where it stopped."
                    .to_owned(),
            ),
            // "no spoke named ..." or "spoke ... unreachable: ...".
            Status::SpokeDown(why) => Some(format!(
                "{why}. Waiting for it: the pane connects as soon as the hub can reach it."
            )),
            Status::Exited(how) => Some(format!("The session exited ({how}).")),
            Status::Error(e) => Some(format!("{e}.")),
        }
    }

    /// The terminal no longer takes input.
    pub fn ended(&self) -> bool {
        matches!(self, Status::Exited(_) | Status::Error(_))
    }

    pub fn class(&self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
            Status::SpokeDown(_) => "spoke-down",
            Status::Exited(_) => "exited",
            Status::Error(_) => "error",
        }
    }
}
