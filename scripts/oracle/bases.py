"""Complete cluster configs the corpus mutates. Each is accepted by the original's schema
(the corpus generator checks that first), and together they touch every section."""

WORKSHOP = """\
Region: us-east-1
Image:
  Os: alinux2023
HeadNode:
  InstanceType: c6i.2xlarge
  Networking:
    SubnetId: subnet-0123456789abcdef0
  Ssh:
    KeyName: ws-default-keypair
  LocalStorage:
    RootVolume:
      VolumeType: gp3
  Dcv:
    Enabled: true
    Port: 8443
    AllowedIps: 0.0.0.0/0
  Iam:
    AdditionalIamPolicies:
      - Policy: arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
      - Policy: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
  Imds:
    Secured: false
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - Name: c6i
      ComputeResources:
        - Name: compute
          Instances:
            - InstanceType: c6i.32xlarge
          MinCount: 0
          MaxCount: 2
          Efa:
            Enabled: true
            GdrSupport: true
      Networking:
        SubnetIds:
          - subnet-0123456789abcdef0
        PlacementGroup:
          Enabled: true
SharedStorage:
  - Name: FSx
    StorageType: FsxLustre
    MountDir: /fsx
    FsxLustreSettings:
      FileSystemId: fs-0123456789abcdef0
"""

FULL_SLURM = """\
Region: eu-west-1
Image:
  Os: ubuntu2404
  CustomAmi: ami-0123456789abcdef0
Imds:
  ImdsSupport: v2.0
CustomS3Bucket: my-bucket
AdditionalResources: https://example.com/template.yaml
HeadNode:
  InstanceType: m6i.xlarge
  DisableSimultaneousMultithreading: true
  Networking:
    SubnetId: subnet-01234567
    SecurityGroups:
      - sg-01234567
    ElasticIp: true
    Proxy:
      HttpProxyAddress: https://proxy.example.com:8080
  Ssh:
    KeyName: mykey
    AllowedIps: 10.0.0.0/16
  LocalStorage:
    RootVolume:
      Size: 60
      Encrypted: true
      VolumeType: io2
      Iops: 3000
      DeleteOnTermination: true
    EphemeralVolume:
      MountDir: /scratch
  SharedStorageType: Efs
  Dcv:
    Enabled: false
  CustomActions:
    OnNodeStart:
      Script: s3://bucket/start.sh
      Args:
        - one
    OnNodeConfigured:
      Sequence:
        - Script: s3://bucket/a.sh
        - Script: s3://bucket/b.sh
          Args: [x, y]
  Iam:
    InstanceRole: arn:aws:iam::123456789012:role/HeadRole
  Imds:
    Secured: true
  Image:
    CustomAmi: ami-01234567
Scheduling:
  Scheduler: slurm
  ScalingStrategy: best-effort
  SlurmSettings:
    ScaledownIdletime: 15
    QueueUpdateStrategy: DRAIN
    EnableMemoryBasedScheduling: true
    Dns:
      DisableManagedDns: false
      UseEc2Hostnames: false
    Database:
      Uri: db.example.com:3306
      UserName: slurm
      PasswordSecretArn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-pass
      DatabaseName: slurm_acct
    CustomSlurmSettings:
      - MaxJobCount: 20000
    MungeKeySecretArn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:munge
  SlurmQueues:
    - Name: ondemand
      CapacityType: ONDEMAND
      AllocationStrategy: lowest-price
      JobExclusiveAllocation: true
      ComputeSettings:
        LocalStorage:
          RootVolume:
            Size: 80
            VolumeType: gp3
            Throughput: 250
          EphemeralVolume:
            MountDir: /local
      CustomActions:
        OnNodeStart:
          Script: s3://bucket/node.sh
      Iam:
        S3Access:
          - BucketName: data-bucket
            EnableWriteAccess: true
        AdditionalIamPolicies:
          - Policy: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
      ComputeResources:
        - Name: c5
          InstanceType: c5.xlarge
          MinCount: 1
          MaxCount: 10
          DisableSimultaneousMultithreading: false
          SchedulableMemory: 7000
          StaticNodePriority: 5
          DynamicNodePriority: 1000
          HealthChecks:
            Gpu:
              Enabled: false
          CustomSlurmSettings:
            Weight: 10
          Tags:
            - Key: team
              Value: hpc
          Networking:
            PlacementGroup:
              Enabled: true
        - Name: m5
          Instances:
            - InstanceType: m5.large
            - InstanceType: m5a.large
          MaxCount: 4
      Networking:
        SubnetIds:
          - subnet-0123456789abcdef0
        AssignPublicIp: false
        AdditionalSecurityGroups:
          - sg-0123456789abcdef0
        Proxy:
          HttpProxyAddress: https://proxy.example.com:8080
      HealthChecks:
        Gpu:
          Enabled: true
      CustomSlurmSettings:
        MaxTime: 100
      Tags:
        - Key: queue
          Value: ondemand
    - Name: spot
      CapacityType: SPOT
      ComputeResources:
        - Name: spot-c5
          InstanceType: c5.large
          SpotPrice: 0.5
          MaxCount: 3
      Networking:
        SubnetIds:
          - subnet-0123456789abcdef0
SharedStorage:
  - Name: ebs
    StorageType: Ebs
    MountDir: /shared
    EbsSettings:
      VolumeType: gp3
      Size: 100
      Iops: 3000
      Throughput: 125
      Encrypted: true
      DeletionPolicy: Snapshot
  - Name: efs
    StorageType: Efs
    MountDir: /efs
    EfsSettings:
      PerformanceMode: generalPurpose
      ThroughputMode: provisioned
      ProvisionedThroughput: 128
      Encrypted: true
      DeletionPolicy: Retain
      EncryptionInTransit: true
      IamAuthorization: true
  - Name: lustre
    StorageType: FsxLustre
    MountDir: /lustre
    FsxLustreSettings:
      StorageCapacity: 1200
      DeploymentType: PERSISTENT_2
      PerUnitStorageThroughput: 250
      WeeklyMaintenanceStartTime: "1:00:00"
      AutomaticBackupRetentionDays: 7
      DailyAutomaticBackupStartTime: "03:00"
      CopyTagsToBackups: true
      DataCompressionType: LZ4
      DeletionPolicy: Retain
      DataRepositoryAssociations:
        - Name: dra
          DataRepositoryPath: s3://bucket/prefix
          FileSystemPath: /dra
          BatchImportMetaDataOnCreate: true
          ImportedFileChunkSize: 1024
          AutoExportPolicy: [NEW, CHANGED, DELETED]
          AutoImportPolicy: [NEW, CHANGED]
Monitoring:
  DetailedMonitoring: true
  Logs:
    CloudWatch:
      Enabled: true
      RetentionInDays: 30
      DeletionPolicy: Retain
    Rotation:
      Enabled: true
  Dashboards:
    CloudWatch:
      Enabled: false
  Alarms:
    Enabled: true
Tags:
  - Key: project
    Value: demo
Iam:
  PermissionsBoundary: arn:aws:iam::123456789012:policy/boundary
  ResourcePrefix: /pc/
  Roles:
    LambdaFunctionsRole: arn:aws:iam::123456789012:role/lambda
DeploymentSettings:
  LambdaFunctionsVpcConfig:
    SecurityGroupIds:
      - sg-01234567
    SubnetIds:
      - subnet-01234567
  DisableSudoAccessForDefaultUser: false
  DefaultUserHome: Local
"""

STORAGE_AND_LOGIN = """\
Image:
  Os: rocky9
HeadNode:
  InstanceType: t3.medium
  Networking:
    SubnetId: subnet-0123456789abcdef0
    AdditionalSecurityGroups: [sg-0123456789abcdef0]
  Ssh:
    KeyName: key
  Iam:
    InstanceProfile: arn:aws:iam::123456789012:instance-profile/head
LoginNodes:
  Pools:
    - Name: login
      InstanceType: t3.small
      Count: 2
      GracetimePeriod: 10
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
      Ssh:
        AllowedIps: 192.168.0.0/24
      Dcv:
        Enabled: true
        Port: 8444
      Iam:
        AdditionalIamPolicies:
          - Policy: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
      CustomActions:
        OnNodeStart:
          Script: s3://bucket/login.sh
Scheduling:
  Scheduler: slurm
  SlurmSettings:
    ScaledownIdletime: -1
    ExternalSlurmdbd:
      Host: dbd.example.com
      Port: 6819
  SlurmQueues:
    - Name: q1
      CapacityType: CAPACITY_BLOCK
      CapacityReservationTarget:
        CapacityReservationId: cr-0123456789abcdef0
      ComputeResources:
        - Name: p5
          InstanceType: p5.48xlarge
          MinCount: 2
          MaxCount: 2
          LaunchTemplateOverrides:
            LaunchTemplateId: lt-0123456789abcdef0
            Version: 2
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
        PlacementGroup:
          Id: pg-0123456789abcdef0
SharedStorage:
  - Name: raid
    StorageType: Ebs
    MountDir: raid
    EbsSettings:
      VolumeType: io1
      Iops: 200
      Size: 40
      Raid:
        Type: 0
        NumberOfVolumes: 4
  - Name: existing-ebs
    StorageType: Ebs
    MountDir: /vol
    EbsSettings:
      VolumeId: vol-0123456789abcdef0
  - Name: zfs
    StorageType: FsxOpenZfs
    MountDir: /zfs
    FsxOpenZfsSettings:
      VolumeId: fsvol-0123456789abcdef0
  - Name: ontap
    StorageType: FsxOntap
    MountDir: /ontap
    FsxOntapSettings:
      VolumeId: fsvol-0123456789abcdef1
  - Name: cache
    StorageType: FileCache
    MountDir: /cache
    FileCacheSettings:
      FileCacheId: fc-0123456789abcdef0
  - Name: efs-existing
    StorageType: Efs
    MountDir: /efs2
    EfsSettings:
      FileSystemId: fs-01234567
      AccessPointId: fsap-0123456789abcdef0
  - Name: scratch
    StorageType: FsxLustre
    MountDir: /scratch
    FsxLustreSettings:
      StorageCapacity: 1200
      DeploymentType: SCRATCH_2
      ImportPath: s3://bucket/in
      ExportPath: s3://bucket/out
      ImportedFileChunkSize: 1024
      AutoImportPolicy: NEW_CHANGED
DirectoryService:
  DomainName: corp.example.com
  DomainAddr: ldaps://corp.example.com
  PasswordSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:ad-pass
  DomainReadOnlyUser: cn=reader,ou=users,dc=corp,dc=example,dc=com
  LdapTlsCaCert: /etc/ssl/ca.crt
  LdapTlsReqCert: hard
  LdapAccessFilter: memberOf=cn=hpc
  GenerateSshKeysForUsers: true
  AdditionalSssdConfigs:
    debug_level: "0x1ff"
DevSettings:
  Timeouts:
    HeadNodeBootstrapTimeout: 1800
    ComputeNodeBootstrapTimeout: 1800
"""

BASES = {"workshop": WORKSHOP, "full-slurm": FULL_SLURM, "storage-login": STORAGE_AND_LOGIN}
