// What a tool may touch of its process: two output streams and the environment. Passed in, so a test
// runs a tool in-process and reads what it printed, and so no tool ever calls process.exit: the
// caller (the npx launcher, or the component's bundled index.js) decides what the exit code does.

export interface ToolIo {
  /** The report: tables, plans, help. */
  stdout: { write(text: string): unknown };
  /** Errors, usage problems, and node-opcua's own messages with --verbose. */
  stderr: { write(text: string): unknown };
  /** Where CONDUIT_OPCUA_PASSWORD is read. The AWS SDK reads process.env itself. */
  env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (--config, --work-dir) are taken from here; default process.cwd(). */
  cwd?: string;
}
