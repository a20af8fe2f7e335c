/** The message of the error `f` throws, which must be an instance of `cls` (anything else fails the test). */
export function thrownMessage(cls: abstract new (...args: never[]) => Error, f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof cls) return e.message;
    throw e;
  }
  throw new Error(`expected a ${cls.name}`);
}
