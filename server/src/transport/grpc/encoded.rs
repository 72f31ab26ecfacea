//! `vtr.v1.SessionList` as servers send it: encoded once per list.
//!
//! A hub's merged list at 200 spokes holds 5,000 sessions, 1.5 MB encoded;
//! mapping and encoding it cost the hub about 5 ms of CPU per `List`. A hub
//! answers every call between two changes with the same shared list
//! (`Coordinator::list`), so the service encodes that list once and sends
//! the same bytes to every caller until the list changes. Clients decode
//! the message as usual: only the server stubs use this type (`build.rs`).

use std::sync::{Arc, Mutex};

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost::encoding::{DecodeContext, WireType, skip_field};

use crate::core::SessionSummary;
use crate::core::session::lock;
use crate::transport::map;

/// The fields of a `vtr.v1.SessionList`, encoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionList(Bytes);

impl SessionList {
    pub fn encode(sessions: &[SessionSummary]) -> Self {
        SessionList(map::session_list(sessions).encode_to_vec().into())
    }
}

impl Message for SessionList {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// Servers never decode a list: whatever comes is skipped.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

/// The last list encoded, known by identity: a coordinator that returns
/// the same shared list again (a hub between two changes) gets the same
/// bytes back without encoding anything.
#[derive(Default)]
pub struct LastList(Mutex<Option<(Arc<[SessionSummary]>, SessionList)>>);

impl LastList {
    pub fn encoded(&self, list: Arc<[SessionSummary]>) -> SessionList {
        if let Some((seen, encoded)) = lock(&self.0).as_ref()
            && Arc::ptr_eq(seen, &list)
        {
            return encoded.clone();
        }
        // Encoded unlocked: a spoke's list is new at every call, and
        // callers must not queue behind each other's encoding.
        let encoded = SessionList::encode(&list);
        *lock(&self.0) = Some((list, encoded.clone()));
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtr_shared::proto as pb;

    fn summary(name: &str) -> SessionSummary {
        crate::transport::unmap::session_info(pb::SessionInfo {
            id: format!("id-{name}"),
            name: name.to_owned(),
            spoke: "s".to_owned(),
            command: "sh".to_owned(),
            args: vec!["-c".to_owned(), "exec cat".to_owned()],
            created_at_ms: 1_700_000_000_000,
            ..pb::SessionInfo::default()
        })
    }

    #[test]
    fn clients_decode_the_bytes_as_the_list_itself() {
        let list: Arc<[SessionSummary]> = vec![summary("a"), summary("b")].into();
        let sent = SessionList::encode(&list).encode_to_vec();
        let decoded = pb::SessionList::decode(sent.as_slice()).expect("decodes");
        assert_eq!(decoded, map::session_list(&list));
        assert_eq!(decoded.sessions.len(), 2);
    }

    #[test]
    fn the_same_shared_list_is_encoded_once_and_a_new_one_again() {
        let last = LastList::default();
        let first: Arc<[SessionSummary]> = vec![summary("a")].into();
        let once = last.encoded(first.clone());
        let again = last.encoded(first.clone());
        // The same bytes, not a second encoding.
        assert_eq!(once.0.as_ptr(), again.0.as_ptr());
        // An equal list in another allocation is a new list.
        let second: Arc<[SessionSummary]> = vec![summary("b")].into();
        let other = last.encoded(second);
        assert_ne!(other, once);
        let decoded = pb::SessionList::decode(other.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded.sessions[0].name, "b");
    }
}
