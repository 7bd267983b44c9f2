//! `coregen assets fetch` and `coregen assets verify`: the Fedora CoreOS
//! live PXE images in the project's assets folder (`assets/` unless
//! `--assets` says otherwise; `--assets` is relative to the working directory,
//! like every path argument), in terms of [`coregen::assets`].

use std::path::{Path, PathBuf};

use coregen::assets::{self, FetchOptions};
use coregen::error::{Error, Result};

use super::note;
use super::settings::{Settings, under};
use crate::cli::FetchArgs;

/// The assets folder: `--assets`, or `assets/` in the project.
pub(super) fn dir(settings: &Settings, dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(|| under(&settings.root, "assets"), Path::to_path_buf)
}

pub(super) fn fetch(settings: &Settings, args: &FetchArgs) -> Result<()> {
    let options = FetchOptions {
        stream: args.stream.clone(),
        arch: args.arch.clone(),
        stream_url: args.stream_url.clone(),
        dir: dir(settings, args.assets_dir.as_deref()),
    };
    let manifest = assets::fetch(&options, &mut |m| note(m))?;
    for file in &manifest.files {
        sayln!("{}", options.dir.join(&file.name).display());
    }
    note(&format!(
        "Fedora CoreOS {} ({} {}) in {}; name the files in [boot] by their names and serve \
         them with `coregen serve --assets {}`",
        manifest.release,
        manifest.stream,
        manifest.arch,
        options.dir.display(),
        options.dir.display()
    ));
    Ok(())
}

pub(super) fn verify(settings: &Settings, dir_arg: Option<&Path>) -> Result<()> {
    let dir = dir(settings, dir_arg);
    let (manifest, problems) = assets::verify(&dir)?;
    if problems.is_empty() {
        sayln!(
            "ok: {} file(s) of Fedora CoreOS {} ({} {}) in {}",
            manifest.files.len(),
            manifest.release,
            manifest.stream,
            manifest.arch,
            dir.display()
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!(
            "coregen: {}: {}",
            dir.join(&problem.name).display(),
            problem.what
        );
    }
    Err(Error::new(format!(
        "{} of {} file(s) in {} do not match {}; run `coregen assets fetch` again",
        problems.len(),
        manifest.files.len(),
        dir.display(),
        assets::MANIFEST
    )))
}
