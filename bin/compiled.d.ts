export interface Entry {
  /** the file to run: the compiled copy under dist/, or the TypeScript source */
  file: string;
  compiled: boolean;
}
export function createEntryResolver(root: string): { isBuildFresh(): boolean; resolveEntry(sourceFile: string): Entry };
export function isBuildFresh(): boolean;
export function resolveEntry(sourceFile: string): Entry;
export function resolveEntryUrl(sourceFile: string): { url: string; compiled: boolean };
