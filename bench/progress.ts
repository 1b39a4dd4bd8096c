/** Progress lines go to stderr, so that stdout holds only the results a script prints. */
export const progress = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};
