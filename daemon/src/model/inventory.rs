//! Members and lines as a cooperative enters them: checks shared by `member add`, `line add`
//! and CSV imports. A CSV file is checked whole, every bad row named by its line number,
//! before anything of it reaches the store.

use crate::config::REPORT_LANGUAGES;
use crate::store::{LineImportRow, MemberImportRow};
use coopnoc_proto::{LineKind, MatchKind, NewLine, NewMember, ReportPreference};

/// References (member numbers, line ids) are typed over SSH and printed in reports.
pub fn check_reference(what: &str, r: &str) -> Result<(), String> {
    if r.is_empty() || r.len() > 64 {
        return Err(format!("{what} must be 1 to 64 characters"));
    }
    if !r
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(format!(
            "{what} \"{r}\" may only hold letters, digits, '-', '_', '.' and '/'"
        ));
    }
    Ok(())
}

pub fn check_member(m: &NewMember) -> Result<(), String> {
    check_reference("member reference", &m.reference)?;
    if m.display_name.trim().is_empty() {
        return Err("the member needs a display name".into());
    }
    if let Some(e) = &m.email {
        let ok = e.len() <= 254
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !e.contains(char::is_whitespace)
            && !e.contains(char::is_control);
        if !ok {
            return Err(format!("\"{e}\" is not an email address"));
        }
    }
    if !REPORT_LANGUAGES.contains(&m.language.as_str()) {
        return Err(format!(
            "language \"{}\" is not one the reports are written in ({})",
            m.language,
            REPORT_LANGUAGES.join(", ")
        ));
    }
    if m.reports == ReportPreference::Email && m.email.is_none() {
        return Err("the member wants the monthly summary by email but has no email address (give one, or reports = none)".into());
    }
    Ok(())
}

pub fn check_line(l: &NewLine) -> Result<(), String> {
    check_reference("line reference", &l.reference)?;
    if let Some(m) = &l.member {
        check_reference("member reference", m)?;
    }
    if l.match_key.trim().is_empty() {
        return Err(format!(
            "the {} to find the line by is empty",
            l.match_kind.as_str()
        ));
    }
    match l.match_kind {
        MatchKind::Mac => {
            let hex: String = l
                .match_key
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            let seps_ok = l
                .match_key
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.'));
            if hex.len() != 12 || !seps_ok {
                return Err(format!(
                    "\"{}\" is not a MAC address such as 00:11:22:aa:bb:cc",
                    l.match_key
                ));
            }
        }
        MatchKind::Ifname | MatchKind::Ifalias | MatchKind::Onu => {
            if l.device.is_none() {
                return Err(format!(
                    "a line found by {} needs its device: interface names and ONU ids repeat across devices",
                    l.match_kind.as_str()
                ));
            }
        }
        MatchKind::Serial => {}
    }
    if l.kind == LineKind::Fibre && l.match_kind == MatchKind::Mac {
        return Err(
            "a fibre line is found by its ONU serial or interface name, not a MAC address".into(),
        );
    }
    Ok(())
}

/// Canonical forms, so that the same ONU typed two ways is one line.
pub fn normalise_line(mut l: NewLine) -> NewLine {
    l.match_key = normalise_key(l.match_kind, &l.match_key);
    l
}

/// A match key in its canonical form (what lines store and discovered keys are compared in).
pub fn normalise_key(kind: MatchKind, key: &str) -> String {
    let key = key.trim();
    match kind {
        MatchKind::Mac => {
            let hex: String = key
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect::<String>()
                .to_ascii_lowercase();
            hex.as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(":")
        }
        MatchKind::Serial => key.to_ascii_uppercase(),
        _ => key.to_string(),
    }
}

/// Problems of a CSV file: one message per bad row, with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblems {
    pub file_name: String,
    pub problems: Vec<String>,
}

impl CsvProblems {
    pub fn summary(&self) -> String {
        format!(
            "{}: {} problem{}; nothing of it was imported",
            self.file_name,
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )
    }
}

struct Table {
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

const MAX_PROBLEMS: usize = 200;

fn read_table(
    csv_text: &str,
    required: &[&str],
    optional: &[&str],
    problems: &mut Vec<String>,
) -> Option<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(csv_text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.to_ascii_lowercase()).collect(),
        Err(e) => {
            problems.push(format!("line 1: cannot read the header: {e}"));
            return None;
        }
    };
    for r in required {
        if !headers.iter().any(|h| h == r) {
            problems.push(format!(
                "line 1: the header has no \"{r}\" column (columns: {})",
                [required, optional].concat().join(",")
            ));
        }
    }
    for h in &headers {
        if !required.contains(&h.as_str()) && !optional.contains(&h.as_str()) {
            problems.push(format!(
                "line 1: unknown column \"{h}\" (columns: {})",
                [required, optional].concat().join(",")
            ));
        }
    }
    if !problems.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                if r.iter().all(str::is_empty) {
                    continue;
                }
                rows.push((line, r));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(format!("line {line}: {e}"));
                if problems.len() >= MAX_PROBLEMS {
                    break;
                }
            }
        }
    }
    Some(Table { headers, rows })
}

impl Table {
    fn get<'r>(&self, row: &'r csv::StringRecord, col: &str) -> Option<&'r str> {
        let i = self.headers.iter().position(|h| h == col)?;
        row.get(i).filter(|s| !s.is_empty())
    }
}

/// Parses `members.csv`: `ref,name,email,language,reports` (email, language, reports optional).
pub fn parse_members(
    csv_text: &str,
    file_name: &str,
    default_language: &str,
) -> Result<Vec<MemberImportRow>, CsvProblems> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    if let Some(t) = read_table(
        csv_text,
        &["ref", "name"],
        &["email", "language", "reports"],
        &mut problems,
    ) {
        let mut seen = std::collections::HashMap::new();
        for (line, row) in &t.rows {
            let reports = match t.get(row, "reports").unwrap_or("email") {
                "email" => Ok(ReportPreference::Email),
                "none" | "no" => Ok(ReportPreference::None),
                other => Err(format!("reports \"{other}\" is not email or none")),
            };
            let m = reports.and_then(|reports| {
                let m = NewMember {
                    reference: t.get(row, "ref").unwrap_or("").to_string(),
                    display_name: t.get(row, "name").unwrap_or("").to_string(),
                    email: t.get(row, "email").map(str::to_string),
                    language: t
                        .get(row, "language")
                        .unwrap_or(default_language)
                        .to_ascii_lowercase(),
                    reports,
                };
                check_member(&m).map(|_| m)
            });
            match m {
                Ok(m) => {
                    if let Some(first) = seen.insert(m.reference.clone(), *line) {
                        problems.push(format!(
                            "line {line}: member {} is already on line {first}",
                            m.reference
                        ));
                    }
                    out.push(MemberImportRow { member: m });
                }
                Err(e) => problems.push(format!("line {line}: {e}")),
            }
            if problems.len() >= MAX_PROBLEMS {
                problems.push(format!("(stopped after {MAX_PROBLEMS} problems)"));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(CsvProblems {
            file_name: file_name.to_string(),
            problems,
        })
    }
}

/// Parses `lines.csv`: `ref,kind,match,key,device,member,description`.
pub fn parse_lines(csv_text: &str, file_name: &str) -> Result<Vec<LineImportRow>, CsvProblems> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    if let Some(t) = read_table(
        csv_text,
        &["ref", "kind", "match", "key"],
        &["device", "member", "description"],
        &mut problems,
    ) {
        let mut seen_ref = std::collections::HashMap::new();
        let mut seen_key = std::collections::HashMap::new();
        for (line, row) in &t.rows {
            let parsed = (|| {
                let kind_text = t.get(row, "kind").unwrap_or("");
                let kind = LineKind::parse(kind_text)
                    .ok_or_else(|| format!("kind \"{kind_text}\" is not fibre, radio or port"))?;
                let match_text = t.get(row, "match").unwrap_or("");
                let match_kind = MatchKind::parse(match_text).ok_or_else(|| {
                    format!("match \"{match_text}\" is not serial, mac, ifname, ifalias or onu")
                })?;
                let l = normalise_line(NewLine {
                    reference: t.get(row, "ref").unwrap_or("").to_string(),
                    kind,
                    device: t.get(row, "device").map(str::to_string),
                    match_kind,
                    match_key: t.get(row, "key").unwrap_or("").to_string(),
                    member: t.get(row, "member").map(str::to_string),
                    description: t.get(row, "description").map(str::to_string),
                });
                check_line(&l).map(|_| l)
            })();
            match parsed {
                Ok(l) => {
                    if let Some(first) = seen_ref.insert(l.reference.clone(), *line) {
                        problems.push(format!(
                            "line {line}: line {} is already on line {first}",
                            l.reference
                        ));
                    }
                    let key = (l.match_kind, l.match_key.clone(), l.device.clone());
                    if let Some(first) = seen_key.insert(key, *line) {
                        problems.push(format!(
                            "line {line}: {} {} is already used on line {first}",
                            l.match_kind.as_str(),
                            l.match_key
                        ));
                    }
                    out.push(LineImportRow {
                        line: l,
                        csv_line: *line,
                    });
                }
                Err(e) => problems.push(format!("line {line}: {e}")),
            }
            if problems.len() >= MAX_PROBLEMS {
                problems.push(format!("(stopped after {MAX_PROBLEMS} problems)"));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(CsvProblems {
            file_name: file_name.to_string(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_bad_row_is_named_by_its_line() {
        let csv = "ref,name,email,language\nM-1,Alice,alice@example.org,fr\nM 2,Bob,bob@example.org,fr\nM-3,,c@example.org,en\nM-4,Dan,dan@example.org,de\nM-1,Alice again,a@example.org,fr\n";
        let p = parse_members(csv, "members.csv", "fr").expect_err("must fail");
        assert_eq!(p.problems.len(), 4, "{p:?}");
        assert!(p.problems[0].starts_with("line 3:"), "{p:?}");
        assert!(p.problems[1].starts_with("line 4:"), "{p:?}");
        assert!(
            p.problems[2].starts_with("line 5:") && p.problems[2].contains("de"),
            "{p:?}"
        );
        assert!(
            p.problems[3].starts_with("line 6:") && p.problems[3].contains("line 2"),
            "{p:?}"
        );
    }

    #[test]
    fn lines_are_normalised_and_checked() {
        let csv = "ref,kind,match,key,device,member\nL-1,fibre,serial,zteg1234abcd,olt-1,M-1\nL-2,radio,mac,AA-BB-CC-00-11-22,,\nL-3,port,ifname,ge-0/0/1,,\n";
        let p = parse_lines(csv, "lines.csv").expect_err("must fail");
        assert_eq!(p.problems.len(), 1, "{p:?}");
        assert!(
            p.problems[0].starts_with("line 4:") && p.problems[0].contains("needs its device"),
            "{p:?}"
        );
        let ok = parse_lines(
            "ref,kind,match,key\nL-1,fibre,serial,zteg1234abcd\nL-2,radio,mac,AA-BB-CC-00-11-22\n",
            "x",
        )
        .expect("test setup");
        assert_eq!(ok[0].line.match_key, "ZTEG1234ABCD");
        assert_eq!(ok[1].line.match_key, "aa:bb:cc:00:11:22");
    }

    #[test]
    fn unknown_column_and_missing_column() {
        let p = parse_members("ref,nom\nM-1,Alice\n", "m.csv", "fr").expect_err("must fail");
        assert!(
            p.problems.iter().any(|m| m.contains("no \"name\" column")),
            "{p:?}"
        );
        assert!(
            p.problems
                .iter()
                .any(|m| m.contains("unknown column \"nom\"")),
            "{p:?}"
        );
    }

    #[test]
    fn ragged_row_is_named() {
        let p = parse_members("ref,name\nM-1,Alice\nM-2,Bob,extra\n", "m.csv", "fr")
            .expect_err("must fail");
        assert!(p.problems[0].starts_with("line 3:"), "{p:?}");
    }

    proptest! {
        #[test]
        fn csv_parsers_never_panic(s in "(?s).{0,300}") {
            let _ = parse_members(&s, "f", "fr");
            let _ = parse_lines(&s, "f");
        }
    }
}
