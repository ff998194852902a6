//! Path templates: does `/api/jobs/123/apply` match `/api/jobs/{id}/apply`,
//! and which template is the better match.
//!
//! Job: parse templates once, match concrete paths, rank matches so that
//! literal segments beat templated ones at the first place they differ
//! (`/api/jobs/proof-needed` beats `/api/jobs/{id}`). It must not know
//! about methods or the document.

use regex::Regex;

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    /// A whole segment `{name}`.
    Param(String),
    /// A segment mixing text and parameters (`{id}.json`): the regex and the names.
    Mixed(Regex, Vec<String>),
}

/// A parsed path template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

impl Template {
    pub(crate) fn parse(template: &str) -> Result<Template, String> {
        let mut segments = Vec::new();
        for seg in split(template) {
            if !seg.contains('{') && !seg.contains('}') {
                segments.push(Segment::Literal(seg.to_string()));
                continue;
            }
            if seg.starts_with('{') && seg.ends_with('}') && seg[1..seg.len() - 1].chars().all(|c| c != '{' && c != '}')
            {
                segments.push(Segment::Param(seg[1..seg.len() - 1].to_string()));
                continue;
            }
            let mut re = String::from("^");
            let mut names = Vec::new();
            let mut rest = seg;
            while let Some(open) = rest.find('{') {
                re.push_str(&regex::escape(&rest[..open]));
                let Some(close) = rest[open..].find('}') else {
                    return Err(format!("unbalanced `{{` in path template `{template}`"));
                };
                names.push(rest[open + 1..open + close].to_string());
                re.push_str("([^/]+?)");
                rest = &rest[open + close + 1..];
            }
            if rest.contains('}') {
                return Err(format!("unbalanced `}}` in path template `{template}`"));
            }
            re.push_str(&regex::escape(rest));
            re.push('$');
            let re = Regex::new(&re).map_err(|e| format!("path template `{template}`: {e}"))?;
            segments.push(Segment::Mixed(re, names));
        }
        Ok(Template { segments })
    }

    /// The match rank (higher is better: per segment 2 literal, 1 mixed,
    /// 0 parameter, compared left to right), or `None` if no match.
    pub(crate) fn rank(&self, path: &str) -> Option<Vec<u8>> {
        let parts: Vec<&str> = split(path).collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut rank = Vec::with_capacity(parts.len());
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                Segment::Literal(l) if l == part => rank.push(2),
                Segment::Literal(_) => return None,
                Segment::Param(_) if !part.is_empty() => rank.push(0),
                Segment::Param(_) => return None,
                Segment::Mixed(re, _) if re.is_match(part) => rank.push(1),
                Segment::Mixed(..) => return None,
            }
        }
        Some(rank)
    }

    /// The path parameters, if `path` matches.
    pub(crate) fn captures(&self, path: &str) -> Option<Vec<(String, String)>> {
        self.rank(path)?;
        let mut out = Vec::new();
        for (seg, part) in self.segments.iter().zip(split(path)) {
            match seg {
                Segment::Literal(_) => {}
                Segment::Param(name) => out.push((name.clone(), part.to_string())),
                Segment::Mixed(re, names) => {
                    let caps = re.captures(part)?;
                    for (i, name) in names.iter().enumerate() {
                        let v = caps.get(i + 1).map(|m| m.as_str()).unwrap_or_default();
                        out.push((name.clone(), v.to_string()));
                    }
                }
            }
        }
        Some(out)
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Strip the query and fragment of a concrete path.
pub(crate) fn bare_path(path: &str) -> &str {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_beats_template() {
        let a = Template::parse("/api/jobs/{id}").unwrap();
        let b = Template::parse("/api/jobs/proof-needed").unwrap();
        let ra = a.rank("/api/jobs/proof-needed").unwrap();
        let rb = b.rank("/api/jobs/proof-needed").unwrap();
        assert!(rb > ra);
        assert!(b.rank("/api/jobs/123").is_none());
        assert!(a.rank("/api/jobs/").is_none());
        assert!(a.rank("/api/jobs/1/x").is_none());
    }

    #[test]
    fn first_difference_decides() {
        let a = Template::parse("/a/{x}/c").unwrap();
        let b = Template::parse("/a/b/{y}").unwrap();
        assert!(b.rank("/a/b/c").unwrap() > a.rank("/a/b/c").unwrap());
    }

    #[test]
    fn mixed_segments_capture() {
        let t = Template::parse("/files/{name}.{ext}").unwrap();
        assert_eq!(
            t.captures("/files/report.tar.gz").unwrap(),
            vec![("name".into(), "report".into()), ("ext".into(), "tar.gz".into())]
        );
        assert!(Template::parse("/x/{a").is_err());
        assert!(Template::parse("/x/a}").is_err());
    }

    #[test]
    fn query_is_stripped() {
        assert_eq!(bare_path("/a/b?x=1#f"), "/a/b");
        assert_eq!(bare_path("/a/b"), "/a/b");
    }
}
