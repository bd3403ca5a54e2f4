// The rest of include/uapi/linux/pci_regs.h that vfio-pci's config virtualization (drivers/vfio/pci/vfio_pci_config.c)
// names: capability sizes, PCIe control fields, AER, power budgeting, VPD, PCI-X and the extended capability ids.

// Standard capability sizes (pci_cap_length[] entries).
export const PCI_AGP_SIZEOF = 12;
export const PCI_CAP_VPD_SIZEOF = 8;
export const PCI_CAP_PCIX_SIZEOF_V0 = 8;
export const PCI_CAP_PCIX_SIZEOF_V2 = 24;

// Vital Product Data.
export const PCI_VPD_ADDR = 2;
export const PCI_VPD_DATA = 4;

// PCI-X.
export const PCI_X_CMD = 2;
export const PCI_X_ECC_CSR = 8;

// PCI Express device control fields.
export const PCI_EXP_DEVCTL_PAYLOAD = 0x00e0;
export const PCI_EXP_DEVCTL_PHANTOM = 0x0200;
export const PCI_EXP_DEVCTL_READRQ = 0x7000;
export const PCI_EXP_DEVCTL2_ARI = 0x0020;

// Extended capability ids (PCI_EXT_CAP_ID_*) up to PCI_EXT_CAP_ID_MAX.
export const PCI_EXT_CAP_ID_VC = 0x02;
export const PCI_EXT_CAP_ID_DSN = 0x03;
export const PCI_EXT_CAP_ID_PWR = 0x04;
export const PCI_EXT_CAP_ID_RCLD = 0x05;
export const PCI_EXT_CAP_ID_RCILC = 0x06;
export const PCI_EXT_CAP_ID_RCEC = 0x07;
export const PCI_EXT_CAP_ID_MFVC = 0x08;
export const PCI_EXT_CAP_ID_VC9 = 0x09;
export const PCI_EXT_CAP_ID_RCRB = 0x0a;
export const PCI_EXT_CAP_ID_VNDR = 0x0b;
export const PCI_EXT_CAP_ID_CAC = 0x0c;
export const PCI_EXT_CAP_ID_ATS = 0x0f;
export const PCI_EXT_CAP_ID_MRIOV = 0x11;
export const PCI_EXT_CAP_ID_MCAST = 0x12;
export const PCI_EXT_CAP_ID_PRI = 0x13;
export const PCI_EXT_CAP_ID_AMD_XXX = 0x14;
export const PCI_EXT_CAP_ID_REBAR = 0x15;
export const PCI_EXT_CAP_ID_DPA = 0x16;
export const PCI_EXT_CAP_ID_TPH = 0x17;
export const PCI_EXT_CAP_ID_LTR = 0x18;
export const PCI_EXT_CAP_ID_SECPCI = 0x19;
export const PCI_EXT_CAP_ID_PMUX = 0x1a;
export const PCI_EXT_CAP_ID_PASID = 0x1b;
export const PCI_EXT_CAP_ID_DOE = 0x2e;
export const PCI_EXT_CAP_ID_MAX = PCI_EXT_CAP_ID_DOE;

// Extended capability sizes.
export const PCI_EXT_CAP_DSN_SIZEOF = 12;
export const PCI_EXT_CAP_PWR_SIZEOF = 16;
export const PCI_EXT_CAP_ARI_SIZEOF = 8;
export const PCI_EXT_CAP_ATS_SIZEOF = 8;
export const PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF = 40;
export const PCI_EXT_CAP_PRI_SIZEOF = 16;
export const PCI_EXT_CAP_LTR_SIZEOF = 8;

// Advanced Error Reporting.
export const PCI_ERR_UNCOR_STATUS = 0x04;
export const PCI_ERR_UNC_UND = 0x00000001;
export const PCI_ERR_UNC_DLP = 0x00000010;
export const PCI_ERR_UNC_SURPDN = 0x00000020;
export const PCI_ERR_UNC_POISON_TLP = 0x00001000;
export const PCI_ERR_UNC_FCP = 0x00002000;
export const PCI_ERR_UNC_COMP_TIME = 0x00004000;
export const PCI_ERR_UNC_COMP_ABORT = 0x00008000;
export const PCI_ERR_UNC_UNX_COMP = 0x00010000;
export const PCI_ERR_UNC_RX_OVER = 0x00020000;
export const PCI_ERR_UNC_MALF_TLP = 0x00040000;
export const PCI_ERR_UNC_ECRC = 0x00080000;
export const PCI_ERR_UNC_UNSUP = 0x00100000;
export const PCI_ERR_UNC_ACSV = 0x00200000;
export const PCI_ERR_UNC_INTN = 0x00400000;
export const PCI_ERR_UNC_MCBTLP = 0x00800000;
export const PCI_ERR_UNC_ATOMEG = 0x01000000;
export const PCI_ERR_UNC_TLPPRE = 0x02000000;
export const PCI_ERR_UNCOR_MASK = 0x08;
export const PCI_ERR_UNCOR_SEVER = 0x0c;
export const PCI_ERR_COR_STATUS = 0x10;
export const PCI_ERR_COR_RCVR = 0x00000001;
export const PCI_ERR_COR_BAD_TLP = 0x00000040;
export const PCI_ERR_COR_BAD_DLLP = 0x00000080;
export const PCI_ERR_COR_REP_ROLL = 0x00000100;
export const PCI_ERR_COR_REP_TIMER = 0x00001000;
export const PCI_ERR_COR_ADV_NFAT = 0x00002000;
export const PCI_ERR_COR_INTERNAL = 0x00004000;
export const PCI_ERR_COR_LOG_OVER = 0x00008000;
export const PCI_ERR_COR_MASK = 0x14;
export const PCI_ERR_CAP = 0x18;
export const PCI_ERR_CAP_ECRC_GENE = 0x00000040;
export const PCI_ERR_CAP_ECRC_CHKE = 0x00000100;
export const PCI_ERR_ROOT_COMMAND = 0x2c;

// Power budgeting.
export const PCI_PWR_DATA = 4;

// Vendor-specific extended capability header.
export const PCI_VSEC_HDR = 4;
export const PCI_VSEC_HDR_LEN_SHIFT = 20;

// Virtual channel (for the VC/MFVC capability length).
export const PCI_VC_PORT_CAP1 = 4;
export const PCI_VC_CAP1_EVCC = 0x7;
export const PCI_VC_PORT_CAP2 = 8;
export const PCI_VC_CAP2_32_PHASE = 0x2;
export const PCI_VC_CAP2_64_PHASE = 0x4;
export const PCI_VC_CAP2_128_PHASE = 0x8;
export const PCI_CAP_VC_BASE_SIZEOF = 0x10;
export const PCI_CAP_VC_PER_VC_SIZEOF = 0x0c;

// Resizable BAR, DPA, TPH (their capability lengths).
export const PCI_REBAR_CTRL = 8;
export const PCI_REBAR_CTRL_NBAR_MASK = 0x000000e0;
export const PCI_REBAR_CTRL_NBAR_SHIFT = 5;
export const PCI_DPA_CAP = 4;
export const PCI_DPA_CAP_SUBSTATE_MASK = 0x1f;
export const PCI_DPA_BASE_SIZEOF = 16;
export const PCI_TPH_CAP = 4;
export const PCI_TPH_CAP_LOC_MASK = 0x600;
export const PCI_TPH_LOC_CAP = 0x200;
export const PCI_TPH_CAP_ST_MASK = 0x07ff0000;
export const PCI_TPH_CAP_ST_SHIFT = 16;
export const PCI_TPH_BASE_SIZEOF = 0xc;

// ACS egress control vector.
export const PCI_ACS_EGRESS_BITS = 0x05;
