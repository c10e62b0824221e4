//! Runs the kernel's own YNL code generator, `ynl-gen-c.py` from the
//! linux-source-6.12 tools that `tests/kernel-tools.sh` unpacks into
//! `.cache/linux-tools/` (never committed), on the family's spec.
//!
//! The generator has two expectations about where the spec sits, both met
//! by a throw-away staging tree rather than by changing the generator:
//! * it walks up from the spec to a folder holding a file named
//!   `MAINTAINERS` (the kernel tree's root; without one it loops forever)
//!   and prints the spec's path relative to it in the banner, so the stage
//!   has an empty `MAINTAINERS` and the spec at `genl-kmod/genl_echo.yaml`;
//! * it validates the spec against `dirname(dirname(spec))/<protocol>.yaml`,
//!   so the stage's root holds the kernel's schema, copied unchanged.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::render::SPEC_PATH;
use crate::temp::TempDir;

/// The generated C files: (path relative to the root, `--mode`, header?).
pub const OUTPUTS: [(&str, &str, bool); 3] = [
    ("genl-kmod/include/uapi/linux/genl_echo.h", "uapi", true),
    ("genl-kmod/netlink-gen.h", "kernel", true),
    ("genl-kmod/netlink-gen.c", "kernel", false),
];

/// The unpacked kernel tools: `$GENL_ECHO_LINUX_TOOLS`, else the
/// workspace's `.cache/linux-tools`.
pub fn tools_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("GENL_ECHO_LINUX_TOOLS")
        .map_or_else(|| workspace.join(".cache/linux-tools"), PathBuf::from)
}

/// `$PYTHON`, else the workspace's venv (it has PyYAML and jsonschema,
/// tests/requirements.txt), else `python3`.
fn python(workspace: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("PYTHON") {
        return p.into();
    }
    let venv = workspace.join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Generates the C files from `spec` (the spec's text, `protocol` its
/// schema level); returns them as (path relative to the root, contents).
pub fn generate(
    workspace: &Path,
    spec: &str,
    protocol: &str,
) -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let tools = tools_dir(workspace);
    let gen = tools.join("ynl/ynl-gen-c.py");
    let schema = tools.join(format!("netlink/{protocol}.yaml"));
    for f in [&gen, &schema] {
        if !f.is_file() {
            return Err(io::Error::other(format!(
                "{} is missing: run tests/kernel-tools.sh (it unpacks the kernel's YNL tools)",
                f.display()
            )));
        }
    }

    let stage = TempDir::new("ynl")?;
    let spec_path = stage.path().join(SPEC_PATH);
    std::fs::create_dir_all(spec_path.parent().expect("spec path has a folder"))?;
    std::fs::write(&spec_path, spec)?;
    std::fs::write(stage.path().join("MAINTAINERS"), "")?;
    std::fs::copy(&schema, stage.path().join(format!("{protocol}.yaml")))?;
    let out_dir = stage.path().join("out");
    std::fs::create_dir(&out_dir)?;

    let mut files = Vec::new();
    for (rel, mode, header) in OUTPUTS {
        // The source includes the header under the output's base name.
        let out = out_dir.join(Path::new(rel).file_name().expect("a file name"));
        let res = Command::new(python(workspace))
            .arg(&gen)
            .args(["--mode", mode, if header { "--header" } else { "--source" }])
            .arg("--spec")
            .arg(&spec_path)
            .arg("-o")
            .arg(&out)
            .output()?;
        if !res.status.success() || !out.is_file() {
            return Err(io::Error::other(format!(
                "ynl-gen-c.py --mode {mode} for {rel} failed ({}):\n{}{}",
                res.status,
                String::from_utf8_lossy(&res.stdout),
                String::from_utf8_lossy(&res.stderr)
            )));
        }
        files.push((PathBuf::from(rel), std::fs::read(&out)?));
    }
    Ok(files)
}
