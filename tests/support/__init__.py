"""What the tests, the benchmarks and the deployment scripts share, one module per job: the
template as CloudFormation reads it (`template`, `cfn`), child processes (`processes`), the
Secrets Manager emulator (`secrets_emulator`), access tokens (`tokens`), PostgreSQL
(`postgres`), and a Lambda Runtime API emulator (`runtime_api`). Every script runs as a module
from the repository's root (`python -m tests.e2e`), so imports need no path tricks."""
