// Probe templates are imported as text and embedded in the compiled binary.
declare module "*.bt.in" {
  const text: string;
  export default text;
}
