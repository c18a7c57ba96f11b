//! Records the commit errlens is built from (for `errlens_build_info{commit}`): the
//! `ERRLENS_COMMIT` environment variable when set (a packager's build), else `git
//! rev-parse` in the source tree, else `unknown` (a source tarball).

fn main() {
    println!("cargo:rerun-if-env-changed=ERRLENS_COMMIT");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
    let commit = std::env::var("ERRLENS_COMMIT").ok().or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    });
    println!(
        "cargo:rustc-env=ERRLENS_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".to_owned())
    );
}
