fn main() -> std::process::ExitCode {
    slawatch::cli::main()
}
