import { LabError } from '@lab/proxmox-sdk';

/** The command line was wrong (a missing flag, a value of the wrong form); `lab` exits with status 2. */
export class CliUsageError extends LabError {
  static override readonly code = 'LAB_CLI_USAGE';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(CliUsageError.code, message, data);
  }
}

/** `lab init` would overwrite a configuration that differs from the one it would write. */
export class ConfigExistsError extends LabError {
  static override readonly code = 'LAB_CONFIG_EXISTS';
  constructor(file: string) {
    super(
      ConfigExistsError.code,
      `${file} already exists and differs from what lab init would write; pass --force to overwrite it, or edit it by hand.`,
      { file },
    );
  }
}

/** A cluster URL is not `https://`; Proxmox VE serves its API (and the token) only over TLS. */
export class InsecureUrlError extends LabError {
  static override readonly code = 'LAB_INSECURE_URL';
  constructor(url: string) {
    super(
      InsecureUrlError.code,
      `Refusing ${url}: the API token would travel in clear text; use the node's https:// address (https://pve1.example.org:8006).`,
      { url },
    );
  }
}

/** The certificate the node presented is not the one the operator named or accepted. */
export class CertificateNotTrustedError extends LabError {
  static override readonly code = 'LAB_CERT_NOT_TRUSTED';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super(CertificateNotTrustedError.code, message, data);
  }
}

/** `lab serve` cannot listen on its port: another process has it, or the address is not this host's. */
export class PortUnavailableError extends LabError {
  static override readonly code = 'LAB_PORT_UNAVAILABLE';
  constructor(kind: string, host: string, port: number, reason: string) {
    super(
      PortUnavailableError.code,
      reason === 'EADDRINUSE'
        ? `Port ${port} on ${host} is already in use (another lab serve?); stop that process, or give this one a free port with --port or ${kind}.port in lab.config.json.`
        : `Cannot listen on ${host}:${port}; give a port and address this host may use with --port/--host or ${kind}.port/${kind}.host in lab.config.json.`,
      { host, port, reason },
    );
  }
}
