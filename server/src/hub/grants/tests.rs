use super::*;

fn new_grant(scope: Scope, targets: Targets, ttl: Duration) -> NewGrant {
    NewGrant {
        scope,
        targets,
        ttl,
        note: "ci agent".to_owned(),
        created_by: "token".to_owned(),
    }
}

fn sessions(ids: &[&str]) -> Targets {
    Targets::Sessions(
        ids.iter()
            .map(|id| ((*id).to_owned(), format!("{id}-name")))
            .collect(),
    )
}

#[test]
fn a_token_opens_its_grant_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grants = Grants::open(dir.path()).expect("open");
    let (grant, token) = grants
        .create(new_grant(
            Scope::Observe,
            sessions(&["a:0001"]),
            Duration::from_secs(60),
        ))
        .expect("create");
    assert!(token.starts_with("vtrg_"), "{token}");
    assert!(token.len() <= MAX_TOKEN_BYTES);
    assert_eq!(grants.open_token(&token).expect("opens").id, grant.id);
    // Only the secret's hash is kept.
    assert!(!grant.secret_hash.is_empty());
    assert!(!token.contains(&grant.secret_hash));

    // Any flipped character of the secret, or garbage, opens nothing.
    let secret_start = TOKEN_PREFIX.len() + grant.id.len() + 1;
    for i in secret_start..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
        let flipped = String::from_utf8(bytes).expect("ascii");
        assert!(matches!(
            grants.open_token(&flipped),
            Err(GrantError::Unknown)
        ));
    }
    for bad in [
        "",
        "vtrg_",
        "vtrg_x_y",
        &token.to_uppercase(),
        &format!("{token}0"),
    ] {
        assert!(
            matches!(grants.open_token(bad), Err(GrantError::Malformed)),
            "{bad}"
        );
    }
}

#[test]
fn revoked_and_expired_grants_stop_and_revocations_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = {
        let grants = Grants::open(dir.path()).expect("open");
        let (grant, token) = grants
            .create(new_grant(
                Scope::Control,
                Targets::Spoke("b".into()),
                Duration::from_secs(60),
            ))
            .expect("create");
        grants.revoke(&grant.id).expect("revoke");
        assert!(matches!(
            grants.open_token(&token),
            Err(GrantError::Revoked)
        ));
        assert!(matches!(
            grants.revoke("0000000000000000"),
            Err(GrantError::NoGrant(_))
        ));
        token
    };
    let grants = Grants::open(dir.path()).expect("reopen");
    assert!(matches!(
        grants.open_token(&token),
        Err(GrantError::Revoked)
    ));
    let listed = grants.list().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].targets, Targets::Spoke("b".into()));
    assert!(listed[0].revoked_ms.is_some());
}

#[test]
fn bad_requests_are_refused_with_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grants = Grants::open(dir.path()).expect("open");
    let ttl = Duration::from_secs(60);
    let err = grants
        .create(new_grant(Scope::Observe, sessions(&[]), ttl))
        .expect_err("nothing granted");
    assert!(err.to_string().contains("--session"), "{err}");
    let many: Vec<String> = (0..=MAX_TARGETS).map(|i| format!("a:{i:04}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = grants
        .create(new_grant(Scope::Observe, sessions(&many), ttl))
        .expect_err("too many");
    assert!(err.to_string().contains("at most 64"), "{err}");
    let err = grants
        .create(new_grant(
            Scope::Observe,
            sessions(&["a:1"]),
            MAX_TTL + Duration::from_secs(1),
        ))
        .expect_err("too long");
    assert!(err.to_string().contains("30 days"), "{err}");
    let mut long_note = new_grant(Scope::Observe, sessions(&["a:1"]), ttl);
    long_note.note = "x".repeat(MAX_NOTE_BYTES + 1);
    let err = grants.create(long_note).expect_err("note too long");
    assert!(err.to_string().contains("200 bytes"), "{err}");
}

#[test]
fn what_a_grant_reaches() {
    let spoke = Grant {
        id: "1".into(),
        secret_hash: String::new(),
        scope: Scope::Observe,
        targets: Targets::Spoke("b".into()),
        note: String::new(),
        created_ms: 0,
        expires_ms: 1,
        revoked_ms: None,
        created_by: String::new(),
    };
    assert!(spoke.reaches("b", "b:0001"));
    assert!(!spoke.reaches("bb", "bb:0001"));
    assert!(spoke.touches_spoke("b"));
    let named = Grant {
        targets: sessions(&["a:0001", "b:0002"]),
        ..spoke
    };
    assert!(named.reaches("a", "a:0001"));
    assert!(!named.reaches("a", "a:0002"));
    assert!(named.touches_spoke("b"));
    assert!(!named.touches_spoke("c"));
    assert_eq!(named.reach(), "sessions a:0001-name, b:0002-name");
}

#[tokio::test]
async fn the_audit_log_keeps_rows_in_order_and_reads_its_own_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grants = Grants::open(dir.path()).expect("open");
    for (i, grant) in ["g1", "g2", "g1"].into_iter().enumerate() {
        grants
            .audit()
            .record(AuditEntry {
                seq: 0,
                at_ms: i as i64,
                grant: grant.into(),
                via: "mcp",
                call: "send_text".into(),
                action: "send",
                session: "a:0001".into(),
                outcome: if i == 1 { Outcome::Denied } else { Outcome::Ok },
                detail: "x".repeat(2000),
                duration_ms: 3,
            })
            .await;
    }
    let all = grants.audit().read(None, 0).await.expect("read");
    assert_eq!(all.len(), 3);
    assert!(
        all[0].seq > all[1].seq && all[1].seq > all[2].seq,
        "newest first"
    );
    assert_eq!(all[1].outcome, Outcome::Denied);
    assert_eq!(all[0].action, "send");
    assert!(all[0].detail.len() <= audit::MAX_DETAIL_BYTES);
    let g1 = grants.audit().read(Some("g1"), 1).await.expect("read");
    assert_eq!(g1.len(), 1);
    assert_eq!(g1[0].at_ms, 2);
}

fn row(grant: &str, action: &'static str, outcome: Outcome) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at_ms: 0,
        grant: grant.into(),
        via: "grpc",
        call: "x".into(),
        action,
        session: "a:0001".into(),
        outcome,
        detail: String::new(),
        duration_ms: 0,
    }
}

#[tokio::test]
async fn a_grant_that_floods_the_audit_log_pushes_out_its_own_reads_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grants = Grants::open(dir.path()).expect("open");
    let audit = grants.audit();
    audit.record(row("quiet", "screen", Outcome::Ok)).await;
    audit.record(row("flood", "send", Outcome::Ok)).await;
    audit.record(row("flood", "kill", Outcome::Denied)).await;
    let reads = MAX_AUDIT_ROWS as usize + 50;
    for _ in 0..reads {
        audit.record(row("flood", "screen", Outcome::Ok)).await;
    }
    audit.record(row("quiet", "send", Outcome::Ok)).await;
    let all = audit
        .read(None, MAX_AUDIT_ROWS as usize)
        .await
        .expect("read");
    assert_eq!(all.len(), MAX_AUDIT_ROWS as usize, "kept at the cap");
    let quiet = audit.read(Some("quiet"), 0).await.expect("read");
    assert_eq!(quiet.len(), 2, "another grant's rows all stay");
    let flood = audit
        .read(Some("flood"), MAX_AUDIT_ROWS as usize)
        .await
        .expect("read");
    for (action, outcome) in [("send", Outcome::Ok), ("kill", Outcome::Denied)] {
        assert!(
            flood
                .iter()
                .any(|r| r.action == action && r.outcome == outcome),
            "its {action} outlasts its reads"
        );
    }
    assert_eq!(flood.len(), MAX_AUDIT_ROWS as usize - 2);
}

#[test]
fn the_audit_cap_cuts_the_biggest_grants_to_one_level() {
    use super::audit::cuts;
    assert_eq!(cuts(&[5, 3], 10), [0, 0], "under the cap: nothing");
    // One flood: only it is cut.
    assert_eq!(cuts(&[2, 10_050], 10_000), [0, 52]);
    // Two heavy grants share the cut, down to one level.
    assert_eq!(cuts(&[9_000, 2_000, 100], 10_000), [1_100, 0, 0]);
    assert_eq!(cuts(&[6_000, 5_000, 100], 10_000), [1_050, 50, 0]);
    for (sizes, keep) in [
        (vec![7, 7, 7], 10),
        (vec![1, 1, 1, 1], 3),
        (vec![100, 3], 50),
    ] {
        let cut = cuts(&sizes, keep);
        let left: i64 = sizes.iter().zip(&cut).map(|(n, c)| n - c).sum();
        assert_eq!(left, keep, "{sizes:?} -> {cut:?}");
        assert!(cut.iter().zip(&sizes).all(|(c, n)| (0..=*n).contains(c)));
    }
}

#[test]
fn an_ended_grant_is_told_apart_from_a_guess_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "ab".repeat(SECRET_BYTES);
    let token = format!("{TOKEN_PREFIX}0123456789abcdef_{secret}");
    {
        let store = Store::open(&dir.path().join(crate::hub::state_db::FILE)).expect("store");
        let now = now_ms();
        store
            .insert(&Grant {
                id: "0123456789abcdef".into(),
                secret_hash: hash(&secret),
                scope: Scope::Observe,
                targets: Targets::Spoke("b".into()),
                note: String::new(),
                created_ms: now - 10_000,
                // Expired a second ago: kept (and told apart) until pruned.
                expires_ms: now - 1_000,
                revoked_ms: None,
                created_by: "t".into(),
            })
            .expect("insert");
    }
    let grants = Grants::open(dir.path()).expect("open");
    assert!(matches!(
        grants.open_token(&token),
        Err(GrantError::Expired)
    ));
    let guess = format!(
        "{TOKEN_PREFIX}0123456789abcdef_{}",
        "cd".repeat(SECRET_BYTES)
    );
    assert!(matches!(
        grants.open_token(&guess),
        Err(GrantError::Unknown)
    ));
    assert!(
        grants.list().expect("list").is_empty(),
        "not listed once expired"
    );
}
