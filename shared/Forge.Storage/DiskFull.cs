namespace Forge.Storage;

/// <summary>Recognises the operating system's "no space left on the device" among I/O errors.</summary>
public static class DiskFull
{
    // Linux and macOS report ENOSPC (28) as the IOException's HResult; Windows reports ERROR_DISK_FULL (112) or
    // ERROR_HANDLE_DISK_FULL (39) wrapped in an HRESULT (0x8007xxxx).
    private const int Enospc = 28;
    private const int ErrorDiskFull = unchecked((int)0x80070070);
    private const int ErrorHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>True when <paramref name="exception"/> (or an I/O error inside it) says the disk is full.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException { HResult: Enospc or ErrorDiskFull or ErrorHandleDiskFull })
                return true;
        }
        return false;
    }
}
