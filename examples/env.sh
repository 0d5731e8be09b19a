# Values for the example config's variables. Source it: `. examples/env.sh`
# The local provider ignores the subnet; the file system id is the one the local FSx service
# will report for the workshop's file system.
export SUBNET_ID=${SUBNET_ID:-subnet-0123456789abcdef0}
export FSX_FS_ID=${FSX_FS_ID:-fs-0123456789abcdef0}
