//! Running commands as named steps: each prints what it does (and how long it usually takes) and its duration.

use std::process::Command;
use std::time::Instant;

use crate::Result;

/// Runs `command` with inherited output as the step `what`; a non-zero exit is an error naming the step.
pub fn run(what: &str, command: &mut Command) -> Result {
    println!("\n==> {what}");
    println!("    $ {}", describe(command));
    let start = Instant::now();
    let status = command.status().map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    let took = start.elapsed().as_secs_f64();
    if status.success() {
        println!("    ok: {what} ({took:.1} s)");
        Ok(())
    } else {
        Err(format!("{what} failed ({status}, after {took:.1} s)"))
    }
}

/// Runs `command` quietly and returns its trimmed stdout, or `None` when it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The command line as a person would type it (environment variables set on the command first).
fn describe(command: &Command) -> String {
    let envs = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .filter(|kv| !kv.starts_with("PATH="));
    let args =
        std::iter::once(command.get_program()).chain(command.get_args()).map(|a| a.to_string_lossy().into_owned());
    envs.chain(args).collect::<Vec<_>>().join(" ")
}
