//! Grant tokens (`vtrg_ID_SECRET`) as the front door reads them from a
//! bearer header: against a hub's grants holding one real grant, only that
//! grant's exact token opens it; anything else is refused without a panic,
//! as malformed (never looked up) or unknown.

use std::sync::OnceLock;
use std::time::Duration;

use vtr::hub::grants::{GrantError, Grants, MAX_TOKEN_BYTES, NewGrant, Scope, Targets};

use crate::Target;
use crate::edge::lossy;
use crate::input::{pick, text};

/// The grants (in a directory kept for the run) and the one real token.
fn hub() -> &'static (Grants, String) {
    static HUB: OnceLock<(Grants, String)> = OnceLock::new();
    HUB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir").keep();
        let grants = Grants::open(&dir).expect("grants");
        let (_, token) = grants
            .create(NewGrant {
                scope: Scope::Observe,
                targets: Targets::Spoke("far".into()),
                ttl: Duration::from_secs(3600),
                note: String::new(),
                created_by: "fuzz".into(),
            })
            .expect("a grant");
        (grants, token)
    })
}

pub fn grant_token() -> Target {
    Target {
        name: "grant-token",
        seeds: || {
            let token = hub().1.clone();
            vec![
                token.clone().into_bytes(),
                token.replace('_', "-").into_bytes(),
                format!("{token}0").into_bytes(),
                token.as_bytes()[..token.len() - 1].to_vec(),
                b"vtrg_0123456789abcdef_".to_vec(),
            ]
        },
        dictionary: &[b"vtrg_", b"_", b"0", b"f", b"A", b"\xc3\xa9"],
        generate: |rng| {
            let real = &hub().1;
            let hex = |rng: &mut fastrand::Rng, n: usize| -> String {
                (0..n)
                    .map(|_| pick(rng, &["0", "9", "a", "f"]).to_owned())
                    .collect()
            };
            match rng.u32(0..3) {
                // The real id with another secret.
                0 => format!("{}{}", &real[..22], hex(rng, 64)).into_bytes(),
                1 => format!("vtrg_{}_{}", hex(rng, 16), hex(rng, 64)).into_bytes(),
                _ => text(rng, "vtrg_0af").into_bytes(),
            }
        },
        run: |input| {
            let (grants, real) = hub();
            let text = lossy(input);
            match grants.open_token(&text) {
                Ok(grant) => {
                    assert_eq!(&text, real, "a token the hub did not make opened a grant");
                    assert!(text.len() <= MAX_TOKEN_BYTES);
                    assert_eq!(grant.targets, Targets::Spoke("far".into()));
                }
                Err(GrantError::Malformed | GrantError::Unknown) => {
                    assert_ne!(&text, real, "the real token was refused");
                }
                Err(e) => panic!("{text:?}: {e}"),
            }
        },
    }
}
