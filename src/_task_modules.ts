/**
 * Every local task module this process has named (through `taskModule()` or a task that
 * ran). A worker with restricted read permission cannot import a module at run time, but
 * modules in its start-up graph load regardless: so workers start from an entry that names
 * these modules in literal `import()` calls (never called), and a worker asked for a module
 * it was not started with is replaced by one that was.
 *
 * @module
 */
export const TASK_MODULES: Set<string> = new Set<string>();

/** Remembers a task module URL (only `file:` ones need it). */
export function rememberTaskModule(url: string): void {
  if (url.startsWith("file:")) TASK_MODULES.add(url);
}

/**
 * A `data:` entry module that imports `entry` and names `modules` in literal `import()`
 * calls, putting them in the worker's start-up graph; `entry` itself when there are none.
 */
export function entryWithModules(entry: string, modules: Iterable<string>): string {
  const list = [...modules];
  if (list.length === 0) return entry;
  const source = `import ${JSON.stringify(entry)};\n` +
    `export const taskModules = [${
      list.map((url) => `() => import(${JSON.stringify(url)})`).join(", ")
    }];\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}
