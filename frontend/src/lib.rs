//! The vtr browser app. A placeholder until the web app is built: the crate
//! exists so the workspace layout is final from the start.
