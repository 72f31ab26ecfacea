//! One test per change this fork makes to vt100 0.16.2 (see FORK.md). The
//! expected screens are what xterm and tmux show for the same bytes.

fn screen(rows: u16, cols: u16, bytes: &[u8]) -> vt100::Parser {
    let mut parser = vt100::Parser::new(rows, cols, 0);
    parser.process(bytes);
    parser
}

fn row(parser: &vt100::Parser, row: u16) -> String {
    let (_, cols) = parser.screen().size();
    parser
        .screen()
        .rows(0, cols)
        .nth(usize::from(row))
        .unwrap_or_default()
}

#[test]
fn custom_tab_stops_set_and_cleared() {
    // Clear all, set stops at columns 3 and 11 (ESC H).
    let p = screen(3, 40, b"\x1b[3g\x1b[4G\x1bH\x1b[12G\x1bH\ra\tb\tc\td");
    assert_eq!(row(&p, 0), format!("a  b       c{}d", " ".repeat(27)));
    // CSI g clears the stop under the cursor; the default ones stay.
    let p = screen(3, 40, b"\x1b[9G\x1b[g\ra\tb\tc");
    assert_eq!(row(&p, 0), "a               b       c");
    // With no stops left, a tab goes to the last column.
    let p = screen(3, 20, b"\x1b[3ga\tb");
    assert_eq!(row(&p, 0), format!("a{}b", " ".repeat(18)));
}

#[test]
fn tab_forward_and_back_by_count() {
    let p = screen(3, 40, b"a\x1b[Ib\x1b[2Ic\r\n\x1b[30Gx\x1b[Zy\x1b[2Zz");
    assert_eq!(row(&p, 0), "a       b               c");
    assert_eq!(row(&p, 1), "                z       y    x");
}

#[test]
fn tab_stops_are_shared_by_both_screens_and_reset_by_ris() {
    let p = screen(3, 40, b"\x1b[3g\x1b[6G\x1bH\r\x1b[?1049ha\tb");
    assert_eq!(row(&p, 0), "a    b");
    let p = screen(3, 40, b"\x1b[3g\x1b[6G\x1bH\x1bca\tb");
    assert_eq!(row(&p, 0), "a       b");
}

#[test]
fn tab_stops_follow_a_resize() {
    let mut p = screen(3, 10, b"\x1b[3g\x1b[4G\x1bH");
    p.screen_mut().set_size(3, 30);
    p.process(b"\r\t1\t2");
    assert_eq!(row(&p, 0), "   1            2");
}

#[test]
fn bold_and_faint_are_independent() {
    let p = screen(1, 20, b"\x1b[1ma\x1b[2mb\x1b[22mc\x1b[2;1md\x1b[0me");
    let cell = |col| p.screen().cell(0, col).cloned().expect("cell");
    assert!(cell(0).bold() && !cell(0).dim());
    assert!(cell(1).bold() && cell(1).dim());
    assert!(!cell(2).bold() && !cell(2).dim());
    assert!(cell(3).bold() && cell(3).dim());
    assert!(!cell(4).bold() && !cell(4).dim());
    // The formatted screen redraws both.
    let mut copy = vt100::Parser::new(1, 20, 0);
    copy.process(&p.screen().contents_formatted());
    assert_eq!(
        copy.screen().contents_formatted(),
        p.screen().contents_formatted()
    );
    assert!(copy
        .screen()
        .cell(0, 1)
        .is_some_and(|c| c.bold() && c.dim()));
    assert!(copy
        .screen()
        .cell(0, 2)
        .is_some_and(|c| !c.bold() && !c.dim()));
}

#[test]
fn colon_colour_forms() {
    let p = screen(
        1,
        20,
        b"\x1b[38:2::1:2:3ma\x1b[48:2::4:5:6mb\x1b[0;38:2:7:8:9mc\x1b[38:5:100;48:5:200md",
    );
    let cell = |col| p.screen().cell(0, col).cloned().expect("cell");
    assert_eq!(cell(0).fgcolor(), vt100::Color::Rgb(1, 2, 3));
    assert_eq!(cell(1).bgcolor(), vt100::Color::Rgb(4, 5, 6));
    assert_eq!(cell(2).fgcolor(), vt100::Color::Rgb(7, 8, 9));
    assert_eq!(cell(3).fgcolor(), vt100::Color::Idx(100));
    assert_eq!(cell(3).bgcolor(), vt100::Color::Idx(200));
}

#[test]
fn underline_styles() {
    let p = screen(
        1,
        20,
        b"\x1b[4:3ma\x1b[4:0mb\x1b[4:1mc\x1b[24;21md\x1b[4:5me",
    );
    let underlined: Vec<bool> = (0..5)
        .map(|col| {
            p.screen().cell(0, col).is_some_and(vt100::Cell::underline)
        })
        .collect();
    assert_eq!(underlined, [true, false, true, true, true]);
}

#[test]
fn save_and_restore_cursor_with_csi_s_and_u() {
    let p = screen(5, 20, b"ab\x1b[s\x1b[4;4Hxy\x1b[uR");
    assert_eq!(row(&p, 0), "abR");
    assert_eq!(p.screen().cursor_position(), (0, 3));
}

#[test]
fn horizontal_position_absolute() {
    let p = screen(2, 20, b"\x1b[2;1H\x1b[12`K");
    assert_eq!(p.screen().cell(1, 11).map(vt100::Cell::contents), Some("K"));
}

#[test]
fn index_and_next_line_scroll_the_region() {
    let p = screen(
        5,
        10,
        b"1\r\n2\r\n3\r\n4\r\n5\x1b[2;4r\x1b[4;3H\x1bDx\x1bEy",
    );
    let rows: Vec<String> = (0..5).map(|r| row(&p, r)).collect();
    assert_eq!(rows, ["1", "4", "  x", "y", "5"]);
}

#[test]
fn reverse_index_above_the_region_only_moves() {
    let p =
        screen(5, 10, b"1\r\n2\r\n3\r\n4\r\n5\x1b[3;4r\x1b[2;1H\x1bM\x1bMa");
    let rows: Vec<String> = (0..5).map(|r| row(&p, r)).collect();
    assert_eq!(rows, ["a", "2", "3", "4", "5"]);
}

#[test]
fn alternate_screen_47_and_1047_keep_the_cursor() {
    for mode in ["47", "1047"] {
        let bytes = format!("main\x1b[?{mode}hxy\x1b[?{mode}l!");
        let p = screen(3, 20, bytes.as_bytes());
        assert_eq!(row(&p, 0), "main  !", "mode {mode}");
    }
    // 1049 saves the cursor on entry, keeps its position, restores on exit.
    let p = screen(3, 20, b"main\x1b[?1049hxy\x1b[?1049l!");
    assert_eq!(row(&p, 0), "main!");
    let p = screen(3, 20, b"main\x1b[?1049hxy");
    assert_eq!(row(&p, 0), "    xy");
}

#[test]
fn state_formatted_carries_custom_tab_stops() {
    let p = screen(3, 40, b"\x1b[3g\x1b[4G\x1bH\x1b[12G\x1bH\x1b[2;1Hxy");
    let mut copy = vt100::Parser::new(3, 40, 0);
    copy.process(&p.screen().state_formatted());
    assert_eq!(copy.screen().cursor_position(), (1, 2));
    copy.process(b"\ra\tb\tc");
    assert_eq!(row(&copy, 1), "ay b       c");
    // Default stops add nothing.
    assert!(screen(3, 40, b"x")
        .screen()
        .tab_stops_formatted()
        .is_empty());
}

#[test]
fn setting_the_scroll_region_homes_the_cursor() {
    let p = screen(5, 10, b"\x1b[4;4H\x1b[2;4rX");
    assert_eq!(row(&p, 0), "X");
    // In origin mode, home is the region's top.
    let p = screen(5, 10, b"\x1b[?6h\x1b[2;4rX");
    assert_eq!(row(&p, 1), "X");
}

#[test]
fn insert_and_delete_lines_only_inside_the_scroll_region() {
    let lines = b"1\r\n2\r\n3\r\n4\r\n5\r\n6";
    let all =
        |p: &vt100::Parser| (0..6).map(|r| row(p, r)).collect::<Vec<_>>();
    let mut bytes = lines.to_vec();
    bytes.extend_from_slice(b"\x1b[2;4r\x1b[6;1H\x1b[L\x1b[1;1H\x1b[M");
    assert_eq!(all(&screen(6, 10, &bytes)), ["1", "2", "3", "4", "5", "6"]);
    let mut bytes = lines.to_vec();
    bytes.extend_from_slice(b"\x1b[2;4r\x1b[3;1H\x1b[9L");
    assert_eq!(all(&screen(6, 10, &bytes)), ["1", "2", "", "", "5", "6"]);
    let mut bytes = lines.to_vec();
    bytes.extend_from_slice(b"\x1b[2;4r\x1b[2;1H\x1b[2M");
    assert_eq!(all(&screen(6, 10, &bytes)), ["1", "4", "", "", "5", "6"]);
}

#[test]
fn underline_colour_parameters_are_skipped() {
    let p = screen(
        1,
        20,
        b"\x1b[4;58;2;255;0;0ma\x1b[58;5;2mb\x1b[58:2::1:2:3;59mc",
    );
    for col in 0..3 {
        let cell = p.screen().cell(0, col).expect("cell");
        assert!(cell.underline() && !cell.dim() && !cell.bold(), "col {col}");
    }
}

#[test]
fn scrolling_with_a_full_scrollback_reuses_rows_blank_and_in_order() {
    // 3 rows, 5 lines of scrollback: lines 1-20 leave 14-18 in the
    // scrollback, 19 and 20 on the screen, and recycled rows carry nothing
    // of the long lines they held before.
    let mut parser = vt100::Parser::new(3, 12, 5);
    for i in 1..=20 {
        let line = if i % 2 == 0 {
            format!("{i}")
        } else {
            format!("{i} xxxxxxxx")
        };
        parser.process(format!("{line}\r\n").as_bytes());
    }
    let rows = |p: &vt100::Parser| -> Vec<String> {
        p.screen().rows(0, 12).collect()
    };
    assert_eq!(rows(&parser), ["19 xxxxxxxx", "20", ""]);
    parser.screen_mut().set_scrollback(5);
    assert_eq!(rows(&parser), ["14", "15 xxxxxxxx", "16"]);
    parser.screen_mut().set_scrollback(2);
    assert_eq!(rows(&parser), ["17 xxxxxxxx", "18", "19 xxxxxxxx"]);
    // Inside a scroll region nothing goes to the scrollback, and the line
    // scrolled in is blank.
    let mut parser = vt100::Parser::new(4, 12, 5);
    parser.process(b"a\r\nbbbbbbbbbb\r\nc\r\nd\x1b[2;3r\x1b[3;1H\n");
    assert_eq!(rows(&parser), ["a", "c", "", "d"]);
    parser.screen_mut().set_scrollback(5);
    assert_eq!(rows(&parser), ["a", "c", "", "d"], "no scrollback taken");
}

#[test]
fn recycled_rows_keep_nothing_of_coloured_erases_wide_or_inserted_cells() {
    // Rows that held a red erase (every cell written with a background),
    // a wide character and inserted blanks are recycled through a full
    // scrollback and by a scroll region, then hold one short line each:
    // every other cell must be blank with default attributes, as on a
    // fresh row.
    let fill = "\x1b[41m\x1b[2Kred\x1b[0m \u{4e2d}\x1b[1;1H\x1b[2@\r\n";
    let check = |parser: &vt100::Parser, what: &str| {
        let screen = parser.screen();
        for r in 0..screen.size().0 {
            for c in 1..screen.size().1 {
                let cell = screen.cell(r, c).expect("a cell");
                assert!(
                    !cell.has_contents()
                        && cell.bgcolor() == vt100::Color::Default
                        && !cell.is_wide()
                        && !cell.is_wide_continuation(),
                    "{what}: row {r} col {c} is {cell:?}"
                );
            }
        }
    };
    let mut parser = vt100::Parser::new(3, 12, 2);
    for _ in 0..6 {
        parser.process(fill.as_bytes());
    }
    parser.process(b"\x1b[3;1H");
    for _ in 0..8 {
        parser.process(b"\r\ny");
    }
    check(&parser, "full scrollback");
    parser.screen_mut().set_scrollback(2);
    check(&parser, "the scrollback's rows");

    let mut parser = vt100::Parser::new(3, 12, 0);
    parser.process(fill.as_bytes());
    parser.process(fill.as_bytes());
    parser.process(b"\x1b[1;3r\x1b[3;1H");
    for _ in 0..4 {
        parser.process(b"\r\ny");
    }
    check(&parser, "scroll region");
}

#[test]
fn scrollback_rows_read_as_they_were_drawn() {
    // Lines pass through a 3-row screen into its scrollback (where rows
    // keep only their written cells) and are read back scrolled there;
    // a 40-row screen draws the same bytes with nothing scrolled away.
    // Every cell, every row's text and formatted form must agree.
    let mut bytes = Vec::new();
    for i in 0..30 {
        let line = match i % 6 {
            0 => format!("\x1b[1;32mgreen {i}\x1b[0m"),
            1 => format!("\x1b[41m\x1b[Kred tail {i}\x1b[0m"),
            2 => format!("wide \u{4e2d}\u{6587} {i}"),
            3 => format!("{i} {}", "long ".repeat(6)),
            4 => String::new(),
            _ => format!("\x1b[7mreverse\x1b[0m {i}\x1b[5Gx"),
        };
        bytes.extend_from_slice(line.as_bytes());
        if i < 29 {
            bytes.extend_from_slice(b"\r\n");
        }
    }
    let mut small = vt100::Parser::new(3, 16, 100);
    small.process(&bytes);
    let tall = screen(40, 16, &bytes);
    let cols = 16u16;
    let tall_rows: Vec<Vec<u8>> =
        tall.screen().rows_formatted(0, cols).collect();
    let tall_text: Vec<String> = tall.screen().rows(0, cols).collect();
    let lines = tall_text.iter().rposition(|l| !l.is_empty()).unwrap() + 1;
    for top in 0..lines - 2 {
        small.screen_mut().set_scrollback(lines - 3 - top);
        let screen = small.screen();
        let text: Vec<String> = screen.rows(0, cols).collect();
        assert_eq!(text, tall_text[top..top + 3], "text from line {top}");
        let formatted: Vec<Vec<u8>> =
            screen.rows_formatted(0, cols).collect();
        assert_eq!(
            formatted,
            tall_rows[top..top + 3],
            "formatted from line {top}"
        );
        for r in 0..3 {
            for c in 0..cols {
                assert_eq!(
                    screen.cell(r, c),
                    tall.screen().cell(top as u16 + r, c),
                    "cell {c} of line {}",
                    top as u16 + r
                );
            }
        }
    }
}
