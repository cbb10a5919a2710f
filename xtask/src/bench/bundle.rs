//! Bundle size: raw, gzip and brotli bytes of the release client's `.wasm`, `.js` and `.css` in `dist/` (and its
//! `snippets/`).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::results::BundleFile;
use crate::Result;

/// The extensions that are shipped to a browser and measured.
const MEASURED: [&str; 3] = ["wasm", "js", "css"];

/// Sizes of every `.wasm`, `.js` and `.css` file in `dist` and its subdirectories (wasm-bindgen's `snippets/`, the
/// JavaScript a crate ships with `inline_js`, is loaded by the page too), largest first; named by their path in
/// `dist`.
pub fn measure(dist: &Path) -> Result<Vec<BundleFile>> {
    let mut files = Vec::new();
    for path in shipped(dist)? {
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path.strip_prefix(dist).unwrap_or(&path).to_string_lossy().into_owned();
        files.push(sizes(&name, &bytes));
    }
    if files.is_empty() {
        return Err(format!("{} has no .wasm, .js or .css: build the client first", dist.display()));
    }
    files.sort_by(|a, b| b.raw.cmp(&a.raw).then_with(|| a.name.cmp(&b.name)));
    Ok(files)
}

/// The `.wasm`, `.js` and `.css` files in `dir` and its subdirectories.
pub fn shipped(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(shipped(&path)?);
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| MEASURED.contains(&e)) {
            files.push(path);
        }
    }
    Ok(files)
}

/// The raw, gzip (level 9) and brotli (quality 11, window 22: what a server precompresses with) sizes of `bytes`.
pub fn sizes(name: &str, bytes: &[u8]) -> BundleFile {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(bytes).expect("writing to memory");
    let gzip = gzip.finish().expect("writing to memory").len() as u64;
    let mut brotli = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    brotli.write_all(bytes).expect("writing to memory");
    let brotli = brotli.into_inner().len() as u64;
    BundleFile { name: name.to_owned(), raw: bytes.len() as u64, gzip, brotli }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compressed_sizes_are_of_streams_that_decompress_to_the_input() {
        let text = "fn main() { println!(\"hello\"); }\n".repeat(200);
        let file = sizes("a.js", text.as_bytes());
        assert_eq!(file.raw, text.len() as u64);
        assert!(file.gzip < file.raw / 10 && file.brotli < file.raw / 10, "{file:?}");
        // Recompress and decode, to check the sizes are of whole, valid streams.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(text.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(gz.len() as u64, file.gzip);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn only_shipped_files_are_measured() {
        let dir = std::env::temp_dir().join(format!("xtask-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(dir.join("snippets/crate-1")).unwrap();
        let files = [
            ("app_bg.wasm", 300),
            ("app.js", 200),
            ("main.css", 100),
            ("index.html", 50),
            ("snippets/crate-1/inline0.js", 20),
        ];
        for (name, size) in files {
            std::fs::write(dir.join(name), vec![b'a'; size]).unwrap();
        }
        let names: Vec<String> = measure(&dir).unwrap().into_iter().map(|f| f.name).collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, ["app_bg.wasm", "app.js", "main.css", "snippets/crate-1/inline0.js"]);
        assert!(measure(Path::new("/nonexistent-dist")).is_err());
    }
}
