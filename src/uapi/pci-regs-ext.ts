// More of include/uapi/linux/pci_regs.h: the type 1 (bridge) header, PCIe port types and slot registers, the
// Advanced Features capability, extended capabilities (ACS, SR-IOV). The type 0 header is in pci-regs.ts.

// Type 1 header.
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_SEC_LATENCY_TIMER = 0x1b;
export const PCI_IO_BASE = 0x1c;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_ROM_ADDRESS1 = 0x38;
export const PCI_BRIDGE_CONTROL = 0x3e;
export const PCI_BRIDGE_CTL_PARITY = 0x01;
export const PCI_BRIDGE_CTL_SERR = 0x02;
export const PCI_BRIDGE_CTL_ISA = 0x04;
export const PCI_BRIDGE_CTL_VGA = 0x08;
export const PCI_BRIDGE_CTL_MASTER_ABORT = 0x20;
export const PCI_BRIDGE_CTL_BUS_RESET = 0x40;

// Class codes of bridges (base << 8 | sub class).
export const PCI_CLASS_BRIDGE_HOST = 0x0600;
export const PCI_CLASS_BRIDGE_PCI = 0x0604;

// PCI Express capability: port types and slot registers.
export const PCI_EXP_FLAGS_SLOT = 0x0100;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
export const PCI_EXP_TYPE_RC_EC = 0xa;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTCAP_HPC = 0x00000040;
export const PCI_EXP_SLTCAP_PSN = 0xfff80000;
export const PCI_EXP_SLTCTL = 0x18;
export const PCI_EXP_SLTSTA = 0x1a;

// Advanced Features capability (PCI_CAP_ID_AF).
export const PCI_AF_LENGTH = 2;
export const PCI_AF_CAP = 3;
export const PCI_AF_CAP_TP = 0x01;
export const PCI_AF_CAP_FLR = 0x02;
export const PCI_AF_CTRL = 4;
export const PCI_AF_CTRL_FLR = 0x01;
export const PCI_AF_STATUS = 5;
export const PCI_AF_STATUS_TP = 0x01;
export const PCI_CAP_AF_SIZEOF = 6;

// Extended capabilities (from 0x100 in PCI Express config space).
export const PCI_EXT_CAP_ID_ERR = 0x01;
export const PCI_EXT_CAP_ID_ACS = 0x0d;
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;
/** The 12-bit next pointer and 4-bit version packed with the 16-bit id in the header dword. */
export const PCI_EXT_CAP_ID = (header: number): number => header & 0xffff;
export const PCI_EXT_CAP_VER = (header: number): number => (header >>> 16) & 0xf;
export const PCI_EXT_CAP_NEXT = (header: number): number => (header >>> 20) & 0xffc;

// Access Control Services.
export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_SV = 0x0001;
export const PCI_ACS_TB = 0x0002;
export const PCI_ACS_RR = 0x0004;
export const PCI_ACS_CR = 0x0008;
export const PCI_ACS_UF = 0x0010;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_DT = 0x0040;
export const PCI_ACS_CTRL = 0x06;
export const PCI_EXT_CAP_ACS_SIZEOF = 8;

// Single Root I/O Virtualization.
export const PCI_SRIOV_CAP = 0x04;
export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_CTRL_VFE = 0x01;
export const PCI_SRIOV_CTRL_VFM = 0x02;
export const PCI_SRIOV_CTRL_INTR = 0x04;
export const PCI_SRIOV_CTRL_MSE = 0x08;
export const PCI_SRIOV_CTRL_ARI = 0x10;
export const PCI_SRIOV_STATUS = 0x0a;
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_FUNC_LINK = 0x12;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a;
export const PCI_SRIOV_SUP_PGSIZE = 0x1c;
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
export const PCI_SRIOV_BAR = 0x24;
export const PCI_SRIOV_NUM_BARS = 6;
export const PCI_SRIOV_VFM = 0x3c;
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;
