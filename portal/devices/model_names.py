"""Marketing names of Apple's model identifiers ("iPhone16,1" → "iPhone 15 Pro").

Devices report their model identifier (ProductName in Authenticate and DeviceInformation);
people know the name on the box. The table covers the iPhones, iPads and Macs that run the
systems User Enrollment needs (iOS/iPadOS 13+, macOS 10.15+) and later; an identifier not
in it is shown as reported.
"""

from __future__ import annotations

import re


def _same(name: str, *identifiers: str) -> dict[str, str]:
    return dict.fromkeys(identifiers, name)


MODEL_NAMES: dict[str, str] = {
    # iPhone
    **_same("iPhone 6s", "iPhone8,1"),
    **_same("iPhone 6s Plus", "iPhone8,2"),
    **_same("iPhone SE (1st generation)", "iPhone8,4"),
    **_same("iPhone 7", "iPhone9,1", "iPhone9,3"),
    **_same("iPhone 7 Plus", "iPhone9,2", "iPhone9,4"),
    **_same("iPhone 8", "iPhone10,1", "iPhone10,4"),
    **_same("iPhone 8 Plus", "iPhone10,2", "iPhone10,5"),
    **_same("iPhone X", "iPhone10,3", "iPhone10,6"),
    **_same("iPhone XS", "iPhone11,2"),
    **_same("iPhone XS Max", "iPhone11,4", "iPhone11,6"),
    **_same("iPhone XR", "iPhone11,8"),
    **_same("iPhone 11", "iPhone12,1"),
    **_same("iPhone 11 Pro", "iPhone12,3"),
    **_same("iPhone 11 Pro Max", "iPhone12,5"),
    **_same("iPhone SE (2nd generation)", "iPhone12,8"),
    **_same("iPhone 12 mini", "iPhone13,1"),
    **_same("iPhone 12", "iPhone13,2"),
    **_same("iPhone 12 Pro", "iPhone13,3"),
    **_same("iPhone 12 Pro Max", "iPhone13,4"),
    **_same("iPhone 13 Pro", "iPhone14,2"),
    **_same("iPhone 13 Pro Max", "iPhone14,3"),
    **_same("iPhone 13 mini", "iPhone14,4"),
    **_same("iPhone 13", "iPhone14,5"),
    **_same("iPhone SE (3rd generation)", "iPhone14,6"),
    **_same("iPhone 14", "iPhone14,7"),
    **_same("iPhone 14 Plus", "iPhone14,8"),
    **_same("iPhone 14 Pro", "iPhone15,2"),
    **_same("iPhone 14 Pro Max", "iPhone15,3"),
    **_same("iPhone 15", "iPhone15,4"),
    **_same("iPhone 15 Plus", "iPhone15,5"),
    **_same("iPhone 15 Pro", "iPhone16,1"),
    **_same("iPhone 15 Pro Max", "iPhone16,2"),
    **_same("iPhone 16 Pro", "iPhone17,1"),
    **_same("iPhone 16 Pro Max", "iPhone17,2"),
    **_same("iPhone 16", "iPhone17,3"),
    **_same("iPhone 16 Plus", "iPhone17,4"),
    **_same("iPhone 16e", "iPhone17,5"),
    **_same("iPhone 17 Pro", "iPhone18,1"),
    **_same("iPhone 17 Pro Max", "iPhone18,2"),
    **_same("iPhone 17", "iPhone18,3"),
    **_same("iPhone Air", "iPhone18,4"),
    # iPad
    **_same("iPad Air", "iPad4,1", "iPad4,2", "iPad4,3"),
    **_same("iPad Air 2", "iPad5,3", "iPad5,4"),
    **_same("iPad mini 4", "iPad5,1", "iPad5,2"),
    **_same("iPad (5th generation)", "iPad6,11", "iPad6,12"),
    **_same("iPad (6th generation)", "iPad7,5", "iPad7,6"),
    **_same("iPad (7th generation)", "iPad7,11", "iPad7,12"),
    **_same("iPad (8th generation)", "iPad11,6", "iPad11,7"),
    **_same("iPad (9th generation)", "iPad12,1", "iPad12,2"),
    **_same("iPad (10th generation)", "iPad13,18", "iPad13,19"),
    **_same("iPad (A16)", "iPad15,7", "iPad15,8"),
    **_same("iPad Air (3rd generation)", "iPad11,3", "iPad11,4"),
    **_same("iPad Air (4th generation)", "iPad13,1", "iPad13,2"),
    **_same("iPad Air (5th generation)", "iPad13,16", "iPad13,17"),
    **_same("iPad Air 11-inch (M2)", "iPad14,8", "iPad14,9"),
    **_same("iPad Air 13-inch (M2)", "iPad14,10", "iPad14,11"),
    **_same("iPad Air 11-inch (M3)", "iPad15,3", "iPad15,4"),
    **_same("iPad Air 13-inch (M3)", "iPad15,5", "iPad15,6"),
    **_same("iPad mini (5th generation)", "iPad11,1", "iPad11,2"),
    **_same("iPad mini (6th generation)", "iPad14,1", "iPad14,2"),
    **_same("iPad mini (A17 Pro)", "iPad16,1", "iPad16,2"),
    **_same("iPad Pro (9.7-inch)", "iPad6,3", "iPad6,4"),
    **_same("iPad Pro (12.9-inch)", "iPad6,7", "iPad6,8"),
    **_same("iPad Pro (10.5-inch)", "iPad7,3", "iPad7,4"),
    **_same("iPad Pro (12.9-inch) (2nd generation)", "iPad7,1", "iPad7,2"),
    **_same("iPad Pro (11-inch)", "iPad8,1", "iPad8,2", "iPad8,3", "iPad8,4"),
    **_same("iPad Pro (12.9-inch) (3rd generation)", "iPad8,5", "iPad8,6", "iPad8,7", "iPad8,8"),
    **_same("iPad Pro (11-inch) (2nd generation)", "iPad8,9", "iPad8,10"),
    **_same("iPad Pro (12.9-inch) (4th generation)", "iPad8,11", "iPad8,12"),
    **_same("iPad Pro (11-inch) (3rd generation)", "iPad13,4", "iPad13,5", "iPad13,6", "iPad13,7"),
    **_same(
        "iPad Pro (12.9-inch) (5th generation)", "iPad13,8", "iPad13,9", "iPad13,10", "iPad13,11"
    ),
    **_same("iPad Pro (11-inch) (4th generation)", "iPad14,3", "iPad14,4"),
    **_same("iPad Pro (12.9-inch) (6th generation)", "iPad14,5", "iPad14,6"),
    **_same("iPad Pro 11-inch (M4)", "iPad16,3", "iPad16,4"),
    **_same("iPad Pro 13-inch (M4)", "iPad16,5", "iPad16,6"),
    # Mac, Intel (the last models, which run macOS 10.15 and later)
    **_same("iMac (27-inch, Late 2013)", "iMac14,2"),
    **_same("iMac (Retina 5K, 27-inch, Late 2015)", "iMac17,1"),
    **_same("iMac (Retina 4K, 21.5-inch, 2019)", "iMac19,2"),
    **_same("iMac (Retina 5K, 27-inch, 2019)", "iMac19,1"),
    **_same("iMac (Retina 5K, 27-inch, 2020)", "iMac20,1", "iMac20,2"),
    **_same("iMac Pro (2017)", "iMacPro1,1"),
    **_same("Mac mini (2018)", "Macmini8,1"),
    **_same("Mac Pro (2019)", "MacPro7,1"),
    **_same("MacBook Air (Retina, 13-inch, 2018)", "MacBookAir8,1"),
    **_same("MacBook Air (Retina, 13-inch, 2019)", "MacBookAir8,2"),
    **_same("MacBook Air (Retina, 13-inch, 2020)", "MacBookAir9,1"),
    **_same("MacBook Pro (16-inch, 2019)", "MacBookPro16,1", "MacBookPro16,4"),
    **_same("MacBook Pro (13-inch, 2020)", "MacBookPro16,2", "MacBookPro16,3"),
    # Mac, Apple silicon
    **_same("MacBook Air (M1, 2020)", "MacBookAir10,1"),
    **_same("MacBook Pro (13-inch, M1, 2020)", "MacBookPro17,1"),
    **_same("Mac mini (M1, 2020)", "Macmini9,1"),
    **_same("iMac (24-inch, M1, 2021)", "iMac21,1", "iMac21,2"),
    **_same("MacBook Pro (16-inch, 2021)", "MacBookPro18,1", "MacBookPro18,2"),
    **_same("MacBook Pro (14-inch, 2021)", "MacBookPro18,3", "MacBookPro18,4"),
    **_same("Mac Studio (2022)", "Mac13,1", "Mac13,2"),
    **_same("MacBook Air (M2, 2022)", "Mac14,2"),
    **_same("MacBook Pro (13-inch, M2, 2022)", "Mac14,7"),
    **_same("Mac mini (2023)", "Mac14,3", "Mac14,12"),
    **_same("MacBook Pro (14-inch, 2023)", "Mac14,5", "Mac14,9"),
    **_same("MacBook Pro (16-inch, 2023)", "Mac14,6", "Mac14,10"),
    **_same("MacBook Air (15-inch, M2, 2023)", "Mac14,15"),
    **_same("Mac Studio (2023)", "Mac14,13", "Mac14,14"),
    **_same("Mac Pro (2023)", "Mac14,8"),
    **_same("MacBook Pro (14-inch, M3, Nov 2023)", "Mac15,3"),
    **_same("iMac (24-inch, 2023)", "Mac15,4", "Mac15,5"),
    **_same("MacBook Pro (14-inch, M3 Pro or M3 Max, Nov 2023)", "Mac15,6", "Mac15,8", "Mac15,10"),
    **_same("MacBook Pro (16-inch, Nov 2023)", "Mac15,7", "Mac15,9", "Mac15,11"),
    **_same("MacBook Air (13-inch, M3, 2024)", "Mac15,12"),
    **_same("MacBook Air (15-inch, M3, 2024)", "Mac15,13"),
    **_same("Mac Studio (2025)", "Mac15,14", "Mac16,9"),
    **_same("MacBook Pro (14-inch, M4, 2024)", "Mac16,1"),
    **_same("iMac (24-inch, 2024)", "Mac16,2", "Mac16,3"),
    **_same("MacBook Pro (16-inch, 2024)", "Mac16,5", "Mac16,7"),
    **_same("MacBook Pro (14-inch, M4 Pro or M4 Max, 2024)", "Mac16,6", "Mac16,8"),
    **_same("Mac mini (2024)", "Mac16,10", "Mac16,11"),
    **_same("MacBook Air (13-inch, M4, 2025)", "Mac16,12"),
    **_same("MacBook Air (15-inch, M4, 2025)", "Mac16,13"),
}

_IDENTIFIER = re.compile(r"[A-Za-z]+\d+,\d+")


def marketing_name(identifier: str | None) -> str | None:
    """The name on the box for a model identifier, or None when it is not known."""
    if not identifier:
        return None
    return MODEL_NAMES.get(identifier.strip())


def display_name(identifier: str | None) -> str:
    """What to show for a model: its marketing name, else what the device reported."""
    if not identifier:
        return ""
    name = marketing_name(identifier)
    if name:
        return name
    return identifier.strip()


def is_identifier(value: str | None) -> bool:
    """True for a model identifier such as "iPhone16,1" (not a name such as "iPhone")."""
    return bool(value and _IDENTIFIER.fullmatch(value.strip()))
