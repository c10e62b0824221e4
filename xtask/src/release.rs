//! The version in the places other than Cargo.toml's `[workspace.package]`
//! that must agree with it, and the Debian packages.
//!
//! * `debian/changelog`: its first entry's version is the workspace version
//!   (the packages are native: no Debian revision). `cargo xtask gen` adds an
//!   entry when the version changed; `cargo xtask check` fails on a mismatch.
//! * `[workspace.dependencies]`: the path dependencies on genl-proto and
//!   genl-echo carry `version = "=VERSION"`, which is what the published
//!   crates depend on.
//! * `cargo xtask set-version VERSION`: writes the new version into
//!   Cargo.toml (both places); `cargo xtask gen` then does the rest.
//! * `cargo xtask deb`: builds the two Debian packages (and the source
//!   package) with `dpkg-buildpackage -us -uc` in a copy of the tree, then
//!   runs lintian on them.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The crates other crates of the workspace depend on by path and version.
pub const PATH_DEPS: [&str; 2] = ["genl-proto", "genl-echo"];

pub const CHANGELOG: &str = "debian/changelog";

/// The version of the first entry of a Debian changelog:
/// `source (VERSION) distribution; urgency=...`.
pub fn changelog_version(text: &str) -> Option<&str> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let open = first.find('(')?;
    let close = open + first.get(open..)?.find(')')?;
    first.get(open + 1..close)
}

/// The `-- Name <mail>` of the first entry, to sign a new one with.
fn changelog_signer(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(" -- ")?;
        rest.find("  ").and_then(|i| rest.get(..i))
    })
}

/// `text` with a new first entry for `version`, dated `date` (RFC 2822).
pub fn changelog_with_entry(text: &str, version: &str, date: &str) -> String {
    let signer =
        changelog_signer(text).unwrap_or("The genl_echo developers <genl-echo@example.org>");
    format!(
        "genl-echo ({version}) unstable; urgency=medium\n\n  * Release {version}.\n\n -- {signer}  {date}\n\n{text}"
    )
}

/// `(crate, version requirement)` of the path dependencies in
/// `[workspace.dependencies]` of the root Cargo.toml `text`.
pub fn path_dep_versions(text: &str) -> Vec<(String, Option<String>)> {
    let mut in_section = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.dependencies]";
            continue;
        }
        if !in_section {
            continue;
        }
        for name in PATH_DEPS {
            if line
                .strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with('='))
            {
                out.push((name.to_owned(), quoted_after(line, "version")));
            }
        }
    }
    out
}

/// The quoted string after `key =` in `line`.
fn quoted_after(line: &str, key: &str) -> Option<String> {
    let i = line.find(&format!("{key} ="))?;
    let rest = line
        .get(i + key.len() + 2..)?
        .trim_start()
        .strip_prefix('"')?;
    rest.find('"')
        .and_then(|j| rest.get(..j))
        .map(str::to_owned)
}

/// What disagrees with the workspace version `version` in the tree at
/// `root`, one sentence each.
pub fn mismatches(root: &Path, version: &str) -> io::Result<Vec<String>> {
    let mut bad = Vec::new();
    let toml = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let deps = path_dep_versions(&toml);
    for name in PATH_DEPS {
        let want = format!("={version}");
        match deps.iter().find(|(n, _)| n == name) {
            Some((_, Some(v))) if *v == want => {}
            Some((_, v)) => bad.push(format!(
                "Cargo.toml: [workspace.dependencies] {name} has version {}, not \"{want}\"",
                v.as_deref().unwrap_or("(none)")
            )),
            None => bad.push(format!("Cargo.toml: no {name} in [workspace.dependencies]")),
        }
    }
    let log = std::fs::read_to_string(root.join(CHANGELOG))?;
    match changelog_version(&log) {
        Some(v) if v == version => {}
        v => bad.push(format!(
            "{CHANGELOG}: first entry is {}, not {version}: run `cargo xtask gen`",
            v.unwrap_or("(none)")
        )),
    }
    Ok(bad)
}

/// Adds a `debian/changelog` entry if the workspace version has none.
pub fn update_changelog(root: &Path, version: &str) -> io::Result<()> {
    let path = root.join(CHANGELOG);
    let text = std::fs::read_to_string(&path)?;
    if changelog_version(&text) == Some(version) {
        return Ok(());
    }
    let date = output(Command::new("date").arg("-R"))?;
    std::fs::write(&path, changelog_with_entry(&text, version, date.trim()))?;
    println!("wrote {CHANGELOG} (new entry {version})");
    Ok(())
}

/// Cargo.toml `text` with `old` replaced by `new` as the workspace version
/// and in the path dependencies' requirements.
pub fn with_version(text: &str, old: &str, new: &str) -> String {
    let mut section = String::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_owned();
        }
        let is_version = section == "[workspace.package]"
            && t.strip_prefix("version")
                .is_some_and(|r| r.trim_start().starts_with('='));
        let is_dep = section == "[workspace.dependencies]"
            && PATH_DEPS.iter().any(|n| t.starts_with(&format!("{n} ")));
        if is_version {
            out.push_str(&line.replace(&format!("\"{old}\""), &format!("\"{new}\"")));
        } else if is_dep {
            out.push_str(&line.replace(&format!("\"={old}\""), &format!("\"={new}\"")));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A plausible version: dot-separated numbers, three of them.
pub fn valid_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn output(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{cmd:?}: {}", out.status)));
    }
    String::from_utf8(out.stdout).map_err(io::Error::other)
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let st = cmd.status()?;
    if st.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{cmd:?}: {st}")))
    }
}

/// `cargo xtask deb [--out DIR]`: the Debian packages of the tree at `root`
/// into DIR (default `target/deb`), then lintian (errors and warnings fail).
///
/// The tree's files (those git tracks, and new ones it does not ignore) are
/// copied to `DIR/build/genl-echo-VERSION` and built there with
/// `dpkg-buildpackage -us -uc` (the binary packages and the native source
/// package), so the checkout gets no build debris and the packages come out
/// in DIR. The crates are fetched first
/// (`cargo fetch --locked`); the package build itself is offline. Cargo's
/// build directory is the workspace's `target/` unless `CARGO_TARGET_DIR`
/// says otherwise, so a second build reuses the first's work.
pub fn deb(root: &Path, out: Option<PathBuf>) -> io::Result<ExitCode> {
    let version = crate::workspace_version(root)?;
    let bad = mismatches(root, &version)?;
    if !bad.is_empty() {
        for b in &bad {
            eprintln!("xtask: {b}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let out = match out {
        Some(o) => o,
        None => root.join("target/deb"),
    };
    std::fs::create_dir_all(&out)?;
    let out = out.canonicalize()?;
    let build = out.join("build");
    if build.exists() {
        std::fs::remove_dir_all(&build)?;
    }
    let src = build.join(format!("genl-echo-{version}"));
    std::fs::create_dir_all(&src)?;
    // git lists the files; tar copies them with their modes and symlinks.
    let copy = "git -C \"$0\" ls-files -z --cached --others --exclude-standard | \
                tar -C \"$0\" --null -T - -cf - | tar -C \"$1\" -xf -";
    run(Command::new("sh").args(["-ec", copy]).arg(root).arg(&src))?;
    for f in std::fs::read_dir(&out)? {
        let p = f?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if [".deb", ".changes", ".buildinfo", ".dsc", ".tar.xz"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            std::fs::remove_file(&p)?;
        }
    }

    run(Command::new("cargo")
        .args(["fetch", "--locked"])
        .current_dir(root))?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    // Source and binary packages: lintian checks both (the source is the
    // copy, what git lists, as a native package).
    run(Command::new("dpkg-buildpackage")
        .args(["-us", "-uc"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&src))?;

    let arch = output(Command::new("dpkg").arg("--print-architecture"))?;
    let changes = build.join(format!("genl-echo_{version}_{}.changes", arch.trim()));
    // dpkg-buildpackage writes next to the source tree: move the results.
    for f in std::fs::read_dir(&build)? {
        let p = f?.path();
        if p.is_file() {
            if let Some(name) = p.file_name() {
                std::fs::rename(&p, out.join(name))?;
            }
        }
    }
    let changes = out.join(changes.file_name().unwrap_or_default());
    run(Command::new("lintian")
        .args(["--fail-on", "error,warning", "--display-info"])
        .arg(&changes))?;
    for f in std::fs::read_dir(&out)? {
        let p = f?.path();
        if p.extension().is_some_and(|e| e == "deb") {
            println!("{}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_parsing() {
        let log = "genl-echo (0.1.0) unstable; urgency=medium\n\n  * Release 0.1.0.\n\n -- A B <a@example.org>  Wed, 02 Dec 2026 07:48:32 +0000\n";
        assert_eq!(changelog_version(log), Some("0.1.0"));
        assert_eq!(changelog_signer(log), Some("A B <a@example.org>"));
        let new = changelog_with_entry(log, "0.2.0", "Thu, 03 Dec 2026 00:00:00 +0000");
        assert_eq!(changelog_version(&new), Some("0.2.0"));
        assert!(new.ends_with(log));
        assert!(new.contains(" -- A B <a@example.org>  Thu, 03 Dec 2026"));
        assert_eq!(changelog_version(""), None);
    }

    #[test]
    fn set_version_touches_only_the_version_lines() {
        let toml = "[workspace.package]\nversion = \"0.1.0\"\nrust-version = \"0.1.0\"\n\n\
                    [workspace.dependencies]\ngenl-proto = { path = \"genl-proto\", version = \"=0.1.0\" }\n\
                    genl-echo = { path = \"genl-echo\", version = \"=0.1.0\" }\nother = \"0.1.0\"\n";
        let new = with_version(toml, "0.1.0", "0.1.1");
        assert!(new.contains("version = \"0.1.1\"\nrust-version = \"0.1.0\""));
        assert!(new.contains("other = \"0.1.0\""));
        let deps = path_dep_versions(&new);
        assert_eq!(
            deps,
            [
                ("genl-proto".to_owned(), Some("=0.1.1".to_owned())),
                ("genl-echo".to_owned(), Some("=0.1.1".to_owned()))
            ]
        );
        assert!(valid_version("0.1.1") && !valid_version("0.1") && !valid_version("0.1.x"));
    }

    #[test]
    fn this_tree_agrees_with_its_version() {
        let root = crate::root();
        let v = crate::workspace_version(&root).unwrap();
        assert_eq!(mismatches(&root, &v).unwrap(), Vec::<String>::new());
        let bad = mismatches(&root, "9.9.9").unwrap();
        assert_eq!(bad.len(), 3, "{bad:?}");
    }
}
